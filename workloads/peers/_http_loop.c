/* The HTTP load generator's hot loop in C: the same closed loop as workloads/peers/http_generator.py.
 *
 * Why C: as for the echo loop (_echo_loop.c), on loopback the generator pays about as much kernel work
 * per request as the server, so it can only outrun the fastest server under test if its own
 * user-space work is near zero: no per-response allocation, no Python objects until the round ends.
 *
 * Wire behaviour is the Python loop's, call for call. Every connection has at most one request in
 * flight (HTTP/1.1 keep-alive, no pipelining): it starts with one send() of the whole request; on
 * EPOLLIN it recv()s up to 64 KiB into a preallocated buffer and feeds those bytes to the
 * connection's response parser, which is incremental (a response may arrive in any number of
 * pieces, split anywhere, its head included):
 *   - the head (status line and headers, up to the blank line; at most HEAD_MAX bytes) is gathered
 *     in the connection's own buffer and checked once complete: the status line is "HTTP/1.1 200"
 *     (any reason phrase), there is exactly one Content-Length (name in any case, value with
 *     optional whitespace) equal to the expected body's length, no Transfer-Encoding, and no
 *     "Connection: close" (the server must keep the connection);
 *   - the body is compared with the expected bytes at its offset (memcmp) as it arrives;
 *   - a byte past the end of the response, or any byte while no request is in flight, is wrong:
 *     the server sent more than one response;
 *   - recv() returning 0 (the server closed the connection) is wrong wherever it happens.
 * A complete, checked response records its latency (the request's send to the response's last byte)
 * and, while requests of the round remain unstarted, starts the next request on that connection.
 * EPOLLOUT is watched only while part of a request is unsent. The epoll object and its registrations
 * (data.fd = the socket) belong to the Python HttpGenerator; this loop only modifies the interest of
 * sockets already registered.
 *
 * Waiting: exactly as in _echo_loop.c. With spin set the loop polls with a zero timeout and never
 * sleeps; the time spent in polls that found nothing is waiting, returned as waited_s. With spin
 * clear it blocks in epoll_wait and waited_s is 0.
 *
 * run(epoll_fd, fds, request, body, total, spin) -> (elapsed_s, latencies, bad, waited_s)
 *   fds: the sockets in connection order; request: the bytes of every request; body: the bytes every
 *   response's body must be; total: responses to complete.
 *   elapsed_s: first send to last complete response (CLOCK_MONOTONIC, the clock of time.perf_counter).
 *   latencies: one float per response, seconds from its request's send to its last byte.
 *   bad: None, or (connection index, reason, offset, data) for the first wrong response: reason is one
 *   of the short codes below (REASON_*), data the offending bytes (at most BAD_BYTES), offset the
 *   body byte data starts at for "body", the response bytes received so far for "closed" (-1: no
 *   request was in flight), else 0. Python describes it and raises.
 *   waited_s: seconds spent in polls that returned no event (spin only).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* first: its pyconfig.h defines _GNU_SOURCE, which memmem needs */

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#define RECV_BYTES (64 * 1024)
#define HEAD_MAX 8192  /* the longest response head accepted, its final CRLFCRLF included */
#define BAD_BYTES 200  /* the most bytes of a wrong response returned to Python */
#define MAX_DIGITS 18  /* a longer Content-Length cannot be the body's length (and would overflow) */

/* Why a response is wrong: the codes the Python loop reports too (http_generator.py, REASONS). */
#define REASON_STATUS "status"                      /* data: the status line */
#define REASON_HEADER "header"                      /* data: a header line without a colon */
#define REASON_LENGTH "content-length"              /* data: the Content-Length value */
#define REASON_LENGTH_TWICE "content-length twice"  /* data: the second Content-Length line */
#define REASON_NO_LENGTH "no content-length"        /* data: the head */
#define REASON_CHUNKED "transfer-encoding"          /* data: the Transfer-Encoding line */
#define REASON_CLOSE "connection close"             /* data: the Connection line */
#define REASON_HEAD_TOO_LONG "head too long"        /* data: the start of the head */
#define REASON_BODY "body"                          /* data: the body from its first wrong byte */
#define REASON_EXTRA "extra bytes"                  /* data: the bytes past the response */
#define REASON_CLOSED "closed"                      /* data: empty */

typedef struct {
    int fd;
    Py_ssize_t sent;          /* bytes of the current request sent */
    int wants_write;          /* EPOLLOUT is in the socket's interest */
    int in_flight;            /* a request is started and its response not yet complete */
    int in_body;              /* the response's head is complete and checked: what follows is body */
    Py_ssize_t head_length;   /* bytes of the response head gathered in head */
    Py_ssize_t body_received; /* bytes of the response body received and checked */
    double sent_at;
    char head[HEAD_MAX];
} connection;

/* What the whole round shares: the bytes every connection sends and expects, and the first wrong response. */
typedef struct {
    int epoll_fd;
    const char *request;
    Py_ssize_t request_size;
    const char *body;
    Py_ssize_t body_size;
    const char *bad_reason; /* NULL while every response is right */
    Py_ssize_t bad_offset;
    const char *bad_data; /* points into a connection's head or the receive buffer, both alive until run returns */
    Py_ssize_t bad_length;
} round_state;

/* What feeding bytes to a connection's parser came to. */
enum { RESPONSE_PARTIAL, RESPONSE_COMPLETE, RESPONSE_WRONG };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Record the first wrong response's reason and offending bytes (at most BAD_BYTES of them). */
static int wrong(round_state *round, const char *reason, Py_ssize_t offset, const char *data, Py_ssize_t length) {
    round->bad_reason = reason;
    round->bad_offset = offset;
    round->bad_data = data;
    round->bad_length = length < BAD_BYTES ? length : BAD_BYTES;
    return RESPONSE_WRONG;
}

/* -- sending ----------------------------------------------------------------------------------- */

/* Watch for writability only while part of the request is still unsent (0, or -1 with errno set). */
static int update_write_interest(round_state *round, connection *conn) {
    int wants_write = conn->sent < round->request_size;
    if (wants_write == conn->wants_write) {
        return 0;
    }
    conn->wants_write = wants_write;
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN | (wants_write ? EPOLLOUT : 0);
    event.data.fd = conn->fd;
    return epoll_ctl(round->epoll_fd, EPOLL_CTL_MOD, conn->fd, &event);
}

static int send_rest(round_state *round, connection *conn) {
    ssize_t n = send(conn->fd, round->request + conn->sent, (size_t)(round->request_size - conn->sent), 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        n = 0;
    }
    conn->sent += n;
    return update_write_interest(round, conn);
}

static int start_request(round_state *round, connection *conn, double now) {
    conn->in_flight = 1;
    conn->in_body = 0;
    conn->head_length = 0;
    conn->body_received = 0;
    conn->sent_at = now;
    ssize_t n = send(conn->fd, round->request, (size_t)round->request_size, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        n = 0;
    }
    conn->sent = n;
    if (conn->sent < round->request_size || conn->wants_write) {
        return update_write_interest(round, conn);
    }
    return 0;
}

/* -- the response head ------------------------------------------------------------------------- */

static const char *find_crlf(const char *from, const char *end) {
    return memmem(from, (size_t)(end - from), "\r\n", 2);
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Does [name, name + length) equal want (lower case), in any case? ASCII only, as bytes.lower():
 * strncasecmp follows the locale, which Python sets from the environment. */
static int name_is(const char *name, Py_ssize_t length, const char *want) {
    if (length != (Py_ssize_t)strlen(want)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        if (ascii_lower(name[i]) != want[i]) {
            return 0;
        }
    }
    return 1;
}

/* Is the value [value, end) a decimal number equal to expected? */
static int length_matches(const char *value, const char *end, Py_ssize_t expected) {
    if (value == end || end - value > MAX_DIGITS) {
        return 0;
    }
    long long number = 0;
    for (const char *p = value; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return 0;
        }
        number = number * 10 + (*p - '0');
    }
    return number == (long long)expected;
}

/* Does the Connection value [value, end) (a comma-separated list of tokens) hold "close"? */
static int asks_to_close(const char *value, const char *end) {
    const char *token = value;
    while (token <= end) {
        const char *comma = memchr(token, ',', (size_t)(end - token));
        const char *token_end = comma != NULL ? comma : end;
        const char *first = token, *last = token_end;
        while (first < last && is_ows(*first)) {
            first++;
        }
        while (last > first && is_ows(last[-1])) {
            last--;
        }
        if (name_is(first, last - first, "close")) {
            return 1;
        }
        token = token_end + 1;
    }
    return 0;
}

/* Check the complete head [conn->head, + conn->head_length), which ends with CRLFCRLF, line by line. */
static int check_head(round_state *round, connection *conn) {
    const char *head = conn->head;
    const char *end = head + conn->head_length - 2; /* the blank line's CRLF: every line before it ends in CRLF */
    const char *line_end = find_crlf(head, end + 2);
    Py_ssize_t status_length = line_end - head;
    if (status_length < 12 || memcmp(head, "HTTP/1.1 200", 12) != 0 || (status_length > 12 && head[12] != ' ')) {
        return wrong(round, REASON_STATUS, 0, head, status_length);
    }
    int lengths = 0;
    for (const char *line = line_end + 2; line < end; line = line_end + 2) {
        line_end = find_crlf(line, end + 2);
        const char *colon = memchr(line, ':', (size_t)(line_end - line));
        if (colon == NULL) {
            return wrong(round, REASON_HEADER, 0, line, line_end - line);
        }
        const char *value = colon + 1, *value_end = line_end;
        while (value < value_end && is_ows(*value)) {
            value++;
        }
        while (value_end > value && is_ows(value_end[-1])) {
            value_end--;
        }
        Py_ssize_t name_length = colon - line;
        if (name_is(line, name_length, "content-length")) {
            if (++lengths > 1) {
                return wrong(round, REASON_LENGTH_TWICE, 0, line, line_end - line);
            }
            if (!length_matches(value, value_end, round->body_size)) {
                return wrong(round, REASON_LENGTH, 0, value, value_end - value);
            }
        } else if (name_is(line, name_length, "transfer-encoding")) {
            return wrong(round, REASON_CHUNKED, 0, line, line_end - line);
        } else if (name_is(line, name_length, "connection") && asks_to_close(value, value_end)) {
            return wrong(round, REASON_CLOSE, 0, line, line_end - line);
        }
    }
    if (lengths == 0) {
        return wrong(round, REASON_NO_LENGTH, 0, head, conn->head_length);
    }
    return RESPONSE_PARTIAL;
}

/* -- the response, incrementally ----------------------------------------------------------------- */

/* Feed the n bytes at data, just received on conn, to its response. */
static int receive(round_state *round, connection *conn, const char *data, Py_ssize_t n) {
    if (!conn->in_flight) {
        return wrong(round, REASON_EXTRA, 0, data, n);
    }
    Py_ssize_t used = 0; /* bytes of data taken by the response so far */
    if (!conn->in_body) {
        /* Gather the head; search for its end from the last 3 bytes already gathered, which the
         * previous piece may have ended within. */
        Py_ssize_t had = conn->head_length;
        Py_ssize_t gathered = n < HEAD_MAX - had ? n : HEAD_MAX - had;
        memcpy(conn->head + had, data, (size_t)gathered);
        conn->head_length += gathered;
        Py_ssize_t from = had > 3 ? had - 3 : 0;
        const char *blank = memmem(conn->head + from, (size_t)(conn->head_length - from), "\r\n\r\n", 4);
        if (blank == NULL) {
            if (conn->head_length == HEAD_MAX) {
                return wrong(round, REASON_HEAD_TOO_LONG, 0, conn->head, conn->head_length);
            }
            return RESPONSE_PARTIAL;
        }
        conn->head_length = blank + 4 - conn->head;
        used = conn->head_length - had;
        if (check_head(round, conn) == RESPONSE_WRONG) {
            return RESPONSE_WRONG;
        }
        conn->in_body = 1;
    }
    Py_ssize_t take = n - used;
    if (take > round->body_size - conn->body_received) {
        take = round->body_size - conn->body_received;
    }
    const char *expected = round->body + conn->body_received;
    if (memcmp(data + used, expected, (size_t)take) != 0) {
        Py_ssize_t first = 0;
        while (data[used + first] == expected[first]) {
            first++;
        }
        return wrong(round, REASON_BODY, conn->body_received + first, data + used + first, take - first);
    }
    conn->body_received += take;
    used += take;
    if (conn->body_received < round->body_size) {
        return RESPONSE_PARTIAL;
    }
    if (used < n) {
        return wrong(round, REASON_EXTRA, 0, data + used, n - used);
    }
    conn->in_flight = 0;
    return RESPONSE_COMPLETE;
}

/* -- the loop ------------------------------------------------------------------------------------ */

static PyObject *run(PyObject *Py_UNUSED(self), PyObject *args) {
    int epoll_fd;
    PyObject *fds_arg;
    Py_buffer request, body;
    Py_ssize_t total;
    int spin;
    if (!PyArg_ParseTuple(args, "iOy*y*np", &epoll_fd, &fds_arg, &request, &body, &total, &spin)) {
        return NULL;
    }
    PyObject *fds = PySequence_Fast(fds_arg, "fds must be a sequence");
    if (fds == NULL) {
        PyBuffer_Release(&request);
        PyBuffer_Release(&body);
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(fds);
    connection *conns = NULL;
    int *index_of_fd = NULL;
    double *latencies = NULL;
    struct epoll_event *events = NULL;
    char *buffer = NULL;
    PyObject *result = NULL, *bad = NULL, *latency_list = NULL;
    int max_fd = -1, failed = 0, bad_index = -1;
    Py_ssize_t to_send = total, done_count = 0;
    double started = 0.0, finished = 0.0, waited_s = 0.0;
    round_state round = {
        .epoll_fd = epoll_fd,
        .request = request.buf,
        .request_size = request.len,
        .body = body.buf,
        .body_size = body.len,
    };

    if (count == 0 || request.len == 0 || total < 0) {
        PyErr_SetString(PyExc_ValueError, "need a non-empty request and at least one connection");
        goto done;
    }
    conns = PyMem_Calloc((size_t)count, sizeof *conns);
    latencies = PyMem_Malloc((size_t)(total > 0 ? total : 1) * sizeof *latencies);
    events = PyMem_Calloc((size_t)count, sizeof *events);
    buffer = PyMem_Malloc(RECV_BYTES);
    if (conns == NULL || latencies == NULL || events == NULL || buffer == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        long fd = PyLong_AsLong(PySequence_Fast_GET_ITEM(fds, i));
        if (fd == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (fd < 0 || fd > INT_MAX) {
            PyErr_SetString(PyExc_ValueError, "every fd must be a valid file descriptor");
            goto done;
        }
        conns[i].fd = (int)fd;
        if (fd > max_fd) {
            max_fd = (int)fd;
        }
    }
    index_of_fd = PyMem_Malloc((size_t)(max_fd + 1) * sizeof *index_of_fd);
    if (index_of_fd == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (int fd = 0; fd <= max_fd; fd++) {
        index_of_fd[fd] = -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        index_of_fd[conns[i].fd] = (int)i;
    }

    Py_BEGIN_ALLOW_THREADS
    started = now_s();
    for (Py_ssize_t i = 0; i < count && to_send > 0 && !failed; i++) {
        to_send--;
        if (start_request(&round, &conns[i], now_s()) < 0) {
            failed = 1;
        }
    }
    /* Spinning: the time from the end of the last piece of work to an empty poll's return is waiting. */
    double idle_from = now_s();
    while (!failed && done_count < total) {
        int ready = epoll_wait(epoll_fd, events, (int)count, spin ? 0 : -1);
        if (ready == 0) { /* spinning, and nothing has arrived yet */
            if (spin) {
                double now = now_s();
                waited_s += now - idle_from;
                idle_from = now;
            }
            continue;
        }
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            failed = 1;
            break;
        }
        for (int k = 0; k < ready && !failed; k++) {
            int fd = events[k].data.fd;
            if (fd < 0 || fd > max_fd || index_of_fd[fd] < 0) {
                errno = EBADF;
                failed = 1;
                break;
            }
            connection *conn = &conns[index_of_fd[fd]];
            uint32_t what = events[k].events;
            if ((what & EPOLLOUT) && send_rest(&round, conn) < 0) {
                failed = 1;
                break;
            }
            if (what & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t n = recv(fd, buffer, RECV_BYTES, 0);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) {
                        continue;
                    }
                    failed = 1;
                    break;
                }
                int outcome;
                if (n == 0) { /* reported with how far the response had come (-1: none was due) */
                    Py_ssize_t received = conn->in_flight ? conn->head_length + conn->body_received : -1;
                    outcome = wrong(&round, REASON_CLOSED, received, buffer, 0);
                } else {
                    outcome = receive(&round, conn, buffer, n);
                }
                if (outcome == RESPONSE_WRONG) {
                    failed = 2; /* reported below with the GIL held */
                    bad_index = index_of_fd[fd];
                    break;
                }
                if (outcome == RESPONSE_COMPLETE) {
                    double now = now_s();
                    latencies[done_count++] = now - conn->sent_at;
                    if (to_send > 0) {
                        to_send--;
                        if (start_request(&round, conn, now) < 0) {
                            failed = 1;
                            break;
                        }
                    }
                }
            }
        }
        if (spin) {
            idle_from = now_s();
        }
    }
    finished = now_s();
    Py_END_ALLOW_THREADS

    if (failed == 1) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    if (failed == 2) {
        bad = Py_BuildValue(
            "(isny#)", bad_index, round.bad_reason, round.bad_offset, round.bad_data, round.bad_length
        );
        if (bad == NULL) {
            goto done;
        }
        result = Py_BuildValue("(d[]Od)", finished - started, bad, waited_s);
        goto done;
    }
    latency_list = PyList_New(total);
    if (latency_list == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < total; i++) {
        PyObject *value = PyFloat_FromDouble(latencies[i]);
        if (value == NULL) {
            Py_DECREF(latency_list);
            goto done;
        }
        PyList_SET_ITEM(latency_list, i, value);
    }
    result = Py_BuildValue("(dNOd)", finished - started, latency_list, Py_None, waited_s);

done:
    Py_XDECREF(bad);
    PyMem_Free(conns);
    PyMem_Free(index_of_fd);
    PyMem_Free(latencies);
    PyMem_Free(events);
    PyMem_Free(buffer);
    Py_DECREF(fds);
    PyBuffer_Release(&request);
    PyBuffer_Release(&body);
    return result;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS, "run(epoll_fd, fds, request, body, total, spin) -> (elapsed_s, latencies, bad, waited_s)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_http_loop", "The HTTP load generator's closed loop in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__http_loop(void) { return PyModule_Create(&module); }
