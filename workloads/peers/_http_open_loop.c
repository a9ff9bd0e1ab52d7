/* The open-loop HTTP generator's hot loop in C: the same measurement as the Python loop in
 * workloads/peers/http_open_loop.py (HttpOpenLoopGenerator._run_python), call for call.
 *
 * Why C: as for the echo open loop (_open_loop.c), only a loop with almost no user-space work keeps a
 * schedule of a few microseconds per request on loopback, where the generator's send() runs the
 * kernel's receive path of the server's socket.
 *
 * The schedule is the echo open loop's (offsets from the start and connection picks, precomputed in
 * Python from a seeded random.Random): request k is due at start + offsets[k] on connection picks[k].
 * HTTP/1.1 without pipelining: a connection carries at most one request whose response is not complete.
 * A request that falls due while its connection is busy waits in the generator, oldest first, and
 * leaves as soon as the response before it is complete; its latency still counts from its due time
 * (wrk2's rule), and ``waits`` records how long after its due time it left (never sent: its age when
 * the loop ended). A request leaves in one send() of REQUEST (EPOLLOUT is watched only while part of it
 * is unsent). On EPOLLIN/ERR/HUP one recv() of up to 64 KiB into a preallocated buffer, fed to the
 * connection's response parser (_http_response.h: status, one Content-Length, no chunked encoding, no
 * Connection: close, every body byte, no byte past the response; a close is wrong). Warm-up requests
 * (index below first_measured) are sent and checked but not recorded. Timer and waiting are the echo
 * open loop's: a timerfd armed SPIN_S before the next due time, or with busy_poll never blocking while
 * requests are scheduled; after the schedule it waits up to drain_s for outstanding responses. The
 * epoll object, the timerfd and their registrations (data.fd = the descriptor) belong to the Python
 * HttpOpenLoopGenerator; this loop only modifies the interest of sockets already registered.
 *
 * run(epoll_fd, timer_fd, fds, request, body, offsets, picks, first_measured, lags, latencies, waits,
 *     warmup_s, duration_s, drain_s, spin_s, busy_poll)
 *   -> (start, finished, answered_in_window, answers_in_window, not_answered, in_flight, bad)
 *   answered_in_window: measured requests answered before the schedule ended; answers_in_window:
 *   responses to any request completed while the measured part ran; in_flight: requests due and not
 *   answered when the loop ended (on the wire or waiting); lags, latencies, waits: writable array('q') of
 *   one item per measured request, in microseconds, as in _open_loop.c; bad: None, or (connection index,
 *   reason, offset, data) for the first wrong response, as _http_loop.c returns it. The clock is
 *   CLOCK_MONOTONIC (time.monotonic's, the timerfd's).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h> /* first: its pyconfig.h defines _GNU_SOURCE, which memmem needs */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>

#define RECV_BYTES (64 * 1024)

#include "_open_loop_common.h"

#include "_http_response.h"

typedef struct {
    int fd;
    Py_ssize_t sent; /* bytes of the current request sent */
    int wants_write; /* EPOLLOUT is in the socket's interest */
    http_response response; /* in_flight: a request is on the wire */
    Py_ssize_t head, tail;  /* the requests due and not answered, oldest first: a list through next_due */
} connection;

typedef struct {
    int epoll_fd;
    const char *request;
    Py_ssize_t request_size;
    response_check check;
    const double *offsets;
    Py_ssize_t first_measured;
    int64_t *waits;
    double start;
} run_state;





/* Watch for writability only while part of the request is still unsent (0, or -1 with errno set). */
static int update_write_interest(run_state *state, connection *conn) {
    int wants_write = conn->sent < state->request_size;
    if (wants_write == conn->wants_write) {
        return 0;
    }
    conn->wants_write = wants_write;
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN | (wants_write ? EPOLLOUT : 0);
    event.data.fd = conn->fd;
    return epoll_ctl(state->epoll_fd, EPOLL_CTL_MOD, conn->fd, &event);
}

static int send_rest(run_state *state, connection *conn) {
    ssize_t n = send(conn->fd, state->request + conn->sent, (size_t)(state->request_size - conn->sent), 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        n = 0;
    }
    conn->sent += n;
    return update_write_interest(state, conn);
}

/* Request k (the connection's oldest due) leaves now; its wait for the connection is recorded. */
static int send_request(run_state *state, connection *conn, Py_ssize_t k, double now) {
    if (k >= state->first_measured) {
        state->waits[k - state->first_measured] = (int64_t)((now - (state->start + state->offsets[k])) * 1e6);
    }
    response_start(&conn->response);
    ssize_t n = send(conn->fd, state->request, (size_t)state->request_size, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        n = 0;
    }
    conn->sent = n;
    if (conn->sent < state->request_size || conn->wants_write) {
        return update_write_interest(state, conn);
    }
    return 0;
}

static PyObject *run(PyObject *Py_UNUSED(self), PyObject *args) {
    int epoll_fd, timer_fd, busy_poll;
    PyObject *fds_arg, *offsets_arg, *picks_arg, *lags_arg, *latencies_arg, *waits_arg;
    Py_buffer request, body;
    Py_buffer offsets_buf = {0}, picks_buf = {0}, lags_buf = {0}, latencies_buf = {0}, waits_buf = {0};
    Py_ssize_t first_measured;
    double warmup_s, duration_s, drain_s, spin_s;
    if (!PyArg_ParseTuple(args, "iiOy*y*OOnOOOddddp", &epoll_fd, &timer_fd, &fds_arg, &request, &body, &offsets_arg,
                          &picks_arg, &first_measured, &lags_arg, &latencies_arg, &waits_arg, &warmup_s,
                          &duration_s, &drain_s, &spin_s, &busy_poll)) {
        return NULL;
    }
    PyObject *fds = NULL, *result = NULL, *bad = NULL;
    connection *conns = NULL;
    int *index_of_fd = NULL;
    Py_ssize_t *next_due = NULL;
    struct epoll_event *events = NULL;
    char *buffer = NULL;
    int max_fd = -1, failed = 0, error = 0, bad_index = -1;
    Py_ssize_t count = 0, answered_in_window = 0, answers_in_window = 0, not_answered = 0, in_flight = 0;
    double start = 0.0, finished = 0.0;
    run_state state = {
        .epoll_fd = epoll_fd,
        .request = request.buf,
        .request_size = request.len,
        .check = {.body = body.buf, .body_size = body.len},
        .first_measured = first_measured,
    };

    if (get_array(offsets_arg, &offsets_buf, "d", 0) < 0 || get_array(picks_arg, &picks_buf, "i", 0) < 0 ||
        get_array(lags_arg, &lags_buf, "q", 1) < 0 || get_array(latencies_arg, &latencies_buf, "q", 1) < 0 ||
        get_array(waits_arg, &waits_buf, "q", 1) < 0) {
        goto done;
    }
    fds = PySequence_Fast(fds_arg, "fds must be a sequence");
    if (fds == NULL) {
        goto done;
    }
    count = PySequence_Fast_GET_SIZE(fds);
    const double *offsets = offsets_buf.buf;
    const int *picks = picks_buf.buf;
    int64_t *lags = lags_buf.buf, *latencies = latencies_buf.buf;
    state.offsets = offsets;
    state.waits = waits_buf.buf;
    Py_ssize_t total = offsets_buf.len / (Py_ssize_t)sizeof(double);
    Py_ssize_t measured_total = total - first_measured;
    if (count == 0 || request.len == 0) {
        PyErr_SetString(PyExc_ValueError, "need a non-empty request and at least one connection");
        goto done;
    }
    if (picks_buf.len / (Py_ssize_t)sizeof(int) != total || first_measured < 0 || first_measured > total ||
        lags_buf.len / (Py_ssize_t)sizeof(int64_t) != measured_total ||
        latencies_buf.len / (Py_ssize_t)sizeof(int64_t) != measured_total ||
        waits_buf.len / (Py_ssize_t)sizeof(int64_t) != measured_total) {
        PyErr_SetString(PyExc_ValueError,
                        "offsets and picks of one length; lags, latencies and waits of one item per measured request");
        goto done;
    }
    conns = PyMem_Calloc((size_t)count, sizeof *conns);
    next_due = PyMem_Malloc((size_t)(total > 0 ? total : 1) * sizeof *next_due);
    events = PyMem_Calloc((size_t)count + 1, sizeof *events);
    buffer = PyMem_Malloc(RECV_BYTES);
    if (conns == NULL || next_due == NULL || events == NULL || buffer == NULL) {
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
        conns[i].head = conns[i].tail = -1;
        if (fd > max_fd) {
            max_fd = (int)fd;
        }
    }
    for (Py_ssize_t k = 0; k < total; k++) {
        if (picks[k] < 0 || picks[k] >= count) {
            PyErr_SetString(PyExc_ValueError, "a pick names no connection");
            goto done;
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
    const double inf = (double)INFINITY;
    start = now_s() + 0.001;
    state.start = start;
    double measure_from = start + warmup_s;
    double schedule_end = measure_from + duration_s;
    double deadline = schedule_end + drain_s;
    double armed = 0.0;
    Py_ssize_t next = 0; /* the next request of the schedule */
    double due = total > 0 ? start + offsets[0] : inf;
    while (!failed) {
        double now = now_s();
        while (due <= now) {
            connection *conn = &conns[picks[next]];
            if (next >= first_measured) {
                lags[next - first_measured] = (int64_t)((now - due) * 1e6);
            }
            next_due[next] = -1;
            if (conn->tail < 0) {
                conn->head = next;
            } else {
                next_due[conn->tail] = next;
            }
            conn->tail = next;
            in_flight++;
            if (!conn->response.in_flight && send_request(&state, conn, next, now) < 0) {
                failed = 1, error = errno;
                break;
            }
            next++;
            if (next < total) {
                due = start + offsets[next];
            } else {
                due = inf;
                if (arm(timer_fd, 0.0) < 0) { /* an expired timer stays readable: disarm it for the drain */
                    failed = 1, error = errno;
                    break;
                }
            }
            now = now_s();
        }
        if (failed) {
            break;
        }
        int timeout_ms;
        if (due == inf) {
            if (in_flight == 0 || now >= deadline) {
                break;
            }
            timeout_ms = milliseconds_up(deadline - now);
        } else if (busy_poll || due - now < spin_s) {
            timeout_ms = 0;
        } else {
            if (armed != due) {
                if (arm(timer_fd, due - spin_s) < 0) {
                    failed = 1, error = errno;
                    break;
                }
                armed = due;
            }
            timeout_ms = -1;
        }
        int ready = epoll_wait(epoll_fd, events, (int)count + 1, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            failed = 1, error = errno;
            break;
        }
        for (int e = 0; e < ready && !failed; e++) {
            int fd = events[e].data.fd;
            if (fd == timer_fd) {
                continue;
            }
            if (fd < 0 || fd > max_fd || index_of_fd[fd] < 0) {
                errno = EBADF;
                failed = 1, error = errno;
                break;
            }
            connection *conn = &conns[index_of_fd[fd]];
            uint32_t what = events[e].events;
            if ((what & EPOLLOUT) && send_rest(&state, conn) < 0) {
                failed = 1, error = errno;
                break;
            }
            if (!(what & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                continue;
            }
            ssize_t n = recv(fd, buffer, RECV_BYTES, 0);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    continue;
                }
                failed = 1, error = errno;
                break;
            }
            int outcome = n == 0 ? response_closed(&state.check, &conn->response, buffer)
                                 : response_feed(&state.check, &conn->response, buffer, n);
            if (outcome == RESPONSE_WRONG) {
                failed = 2; /* reported below with the GIL held */
                bad_index = index_of_fd[fd];
                break;
            }
            if (outcome != RESPONSE_COMPLETE) {
                continue;
            }
            now = now_s();
            in_flight--;
            if (now >= measure_from && now < schedule_end) {
                answers_in_window++;
            }
            Py_ssize_t k = conn->head;
            conn->head = next_due[k];
            if (conn->head < 0) {
                conn->tail = -1;
            }
            if (k >= first_measured) {
                latencies[k - first_measured] = (int64_t)((now - (start + offsets[k])) * 1e6);
                if (now < schedule_end) {
                    answered_in_window++;
                }
            }
            /* freed: the oldest request waiting for this connection leaves now */
            if (conn->head >= 0 && send_request(&state, conn, conn->head, now) < 0) {
                failed = 1, error = errno;
                break;
            }
        }
    }
    finished = now_s();
    if (arm(timer_fd, 0.0) < 0 && !failed) {
        failed = 1, error = errno;
    }
    if (!failed) {
        for (Py_ssize_t i = 0; i < count; i++) {
            /* the first is on the wire if a response is due; the rest never left */
            int waiting = !conns[i].response.in_flight;
            for (Py_ssize_t k = conns[i].head; k >= 0; k = next_due[k]) {
                if (k >= first_measured) {
                    int64_t age = (int64_t)((finished - (start + offsets[k])) * 1e6);
                    latencies[k - first_measured] = age;
                    if (waiting) {
                        state.waits[k - first_measured] = age;
                    }
                    not_answered++;
                }
                waiting = 1;
            }
        }
    }
    Py_END_ALLOW_THREADS

    if (failed == 1) {
        errno = error;
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    if (failed == 2) {
        bad = Py_BuildValue("(isny#)", bad_index, state.check.bad_reason, state.check.bad_offset, state.check.bad_data,
                            state.check.bad_length);
    } else {
        bad = Py_NewRef(Py_None);
    }
    if (bad == NULL) {
        goto done;
    }
    result = Py_BuildValue("(ddnnnnO)", start, finished, answered_in_window, answers_in_window, not_answered, in_flight,
                           bad);

done:
    Py_XDECREF(bad);
    PyMem_Free(conns);
    PyMem_Free(index_of_fd);
    PyMem_Free(next_due);
    PyMem_Free(events);
    PyMem_Free(buffer);
    Py_XDECREF(fds);
    PyBuffer_Release(&request);
    PyBuffer_Release(&body);
    PyBuffer_Release(&offsets_buf); /* a view never taken is {0}: releasing it does nothing */
    PyBuffer_Release(&picks_buf);
    PyBuffer_Release(&lags_buf);
    PyBuffer_Release(&latencies_buf);
    PyBuffer_Release(&waits_buf);
    return result;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS,
     "run(epoll_fd, timer_fd, fds, request, body, offsets, picks, first_measured, lags, latencies, waits, warmup_s, "
     "duration_s, drain_s, spin_s, busy_poll) -> (start, finished, answered_in_window, answers_in_window, "
     "not_answered, in_flight, bad)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_http_open_loop", "The open-loop HTTP generator's measurement loop in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__http_open_loop(void) { return PyModule_Create(&module); }
