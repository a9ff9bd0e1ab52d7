/* The HTTP load generator's hot loop in C: the same closed loop as workloads/peers/http_generator.py.
 *
 * Why C: as for the echo loop (_echo_loop.c), on loopback the generator pays about as much kernel work
 * per request as the server, so it can only outrun the fastest server under test if its own
 * user-space work is near zero: no per-response allocation, no Python objects until the round ends.
 *
 * Wire behaviour is the Python loop's, call for call. Every connection has at most one request in
 * flight (HTTP/1.1 keep-alive, no pipelining): it starts with one send() of the whole request; on
 * EPOLLIN it recv()s up to 64 KiB into a preallocated buffer and feeds those bytes to the
 * connection's response parser (_http_response.h: incremental, checks status, Content-Length, no
 * chunked encoding, no Connection: close, every body byte, nothing past the response; a close is wrong).
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

#include "_http_response.h"

typedef struct {
    int fd;
    Py_ssize_t sent; /* bytes of the current request sent */
    int wants_write; /* EPOLLOUT is in the socket's interest */
    double sent_at;
    http_response response;
} connection;

/* What the whole round shares: the bytes every connection sends, and what every response must be. */
typedef struct {
    int epoll_fd;
    const char *request;
    Py_ssize_t request_size;
    response_check check;
} round_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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
    response_start(&conn->response);
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
        .check = {.body = body.buf, .body_size = body.len},
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
                if (n == 0) {
                    outcome = response_closed(&round.check, &conn->response, buffer);
                } else {
                    outcome = response_feed(&round.check, &conn->response, buffer, n);
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
            "(isny#)", bad_index, round.check.bad_reason, round.check.bad_offset, round.check.bad_data, round.check.bad_length
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
