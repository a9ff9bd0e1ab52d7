/* The load generator's hot loop in C: the same closed loop as workloads/peers/load_generator.py.
 *
 * Why C: on loopback the generator pays about as much kernel work per echo as the server (its send()
 * runs the TCP receive path of the server's socket), so the generator can only outrun the fastest
 * server under test if its own user-space work is near zero. The pure-Python loop spent ~8 us per
 * 1 KiB echo against ~7 us for uvloop's Protocol server; this loop leaves the kernel's share.
 *
 * Wire behaviour is the Python loop's, call for call: every connection starts with one send() of its
 * whole message; on EPOLLIN it recv()s at most min(rest of the echo, 64 KiB) into a preallocated
 * buffer and compares it with the bytes sent at that offset (memcmp); a complete echo records its
 * latency and starts the next message on that connection; EPOLLOUT is watched only while part of a
 * message is unsent. The epoll object and its registrations (data.fd = the socket) belong to the
 * Python LoadGenerator; this loop only modifies the interest of sockets already registered.
 *
 * Waiting: with spin set (the default, workloads/peers/waiting.py says why) the loop polls with a
 * zero timeout and never sleeps; the time spent in polls that found nothing is waiting, returned as
 * waited_s so that the generator's working CPU can be told from it. With spin clear it blocks in
 * epoll_wait and waited_s is 0.
 *
 * run(epoll_fd, fds, messages, total, spin) -> (elapsed_s, latencies, bad, waited_s)
 *   fds: the sockets in connection order; messages: the bytes each sends; total: echoes to complete.
 *   elapsed_s: first send to last complete echo (CLOCK_MONOTONIC, the clock of time.perf_counter).
 *   waited_s: seconds spent in polls that returned no event (spin only).
 *   latencies: one float per echo, seconds from its send to its complete echo.
 *   bad: None, or (connection index, offset of the received chunk, the chunk) for a wrong or missing
 *   echo (an empty chunk: the server closed the connection); Python describes it and raises.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#define RECV_BYTES (64 * 1024)

typedef struct {
    int fd;
    const char *message;
    Py_ssize_t size;
    Py_ssize_t sent;
    Py_ssize_t received;
    double sent_at;
    int wants_write;
} connection;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Watch for writability only while part of a message is still unsent (0, or -1 with errno set). */
static int update_write_interest(int epoll_fd, connection *conn) {
    int wants_write = conn->sent < conn->size;
    if (wants_write == conn->wants_write) {
        return 0;
    }
    conn->wants_write = wants_write;
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN | (wants_write ? EPOLLOUT : 0);
    event.data.fd = conn->fd;
    return epoll_ctl(epoll_fd, EPOLL_CTL_MOD, conn->fd, &event);
}

static int send_rest(int epoll_fd, connection *conn) {
    ssize_t n = send(conn->fd, conn->message + conn->sent, (size_t)(conn->size - conn->sent), 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        n = 0;
    }
    conn->sent += n;
    return update_write_interest(epoll_fd, conn);
}

static int start_message(int epoll_fd, connection *conn, double now) {
    conn->received = 0;
    conn->sent = 0;
    conn->sent_at = now;
    ssize_t n = send(conn->fd, conn->message, (size_t)conn->size, 0);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        n = 0;
    }
    conn->sent = n;
    if (conn->sent < conn->size || conn->wants_write) {
        return update_write_interest(epoll_fd, conn);
    }
    return 0;
}

static PyObject *run(PyObject *Py_UNUSED(self), PyObject *args) {
    int epoll_fd;
    PyObject *fds_arg, *messages_arg;
    Py_ssize_t total;
    int spin;
    if (!PyArg_ParseTuple(args, "iOOnp", &epoll_fd, &fds_arg, &messages_arg, &total, &spin)) {
        return NULL;
    }
    PyObject *fds = PySequence_Fast(fds_arg, "fds must be a sequence");
    if (fds == NULL) {
        return NULL;
    }
    PyObject *messages = PySequence_Fast(messages_arg, "messages must be a sequence");
    if (messages == NULL) {
        Py_DECREF(fds);
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
    Py_ssize_t to_send = total, done_count = 0, bad_length = 0;
    double started = 0.0, finished = 0.0, waited_s = 0.0;

    if (count == 0 || PySequence_Fast_GET_SIZE(messages) != count || total < 0) {
        PyErr_SetString(PyExc_ValueError, "need one message per connection, at least one connection");
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
        PyObject *message = PySequence_Fast_GET_ITEM(messages, i);
        if (!PyBytes_Check(message) || PyBytes_GET_SIZE(message) == 0) {
            PyErr_SetString(PyExc_TypeError, "every message must be non-empty bytes");
            goto done;
        }
        conns[i].fd = (int)fd;
        conns[i].message = PyBytes_AS_STRING(message);
        conns[i].size = PyBytes_GET_SIZE(message);
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
        if (start_message(epoll_fd, &conns[i], now_s()) < 0) {
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
            if ((what & EPOLLOUT) && send_rest(epoll_fd, conn) < 0) {
                failed = 1;
                break;
            }
            if (what & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                Py_ssize_t want = conn->size - conn->received;
                if (want > RECV_BYTES) {
                    want = RECV_BYTES;
                }
                ssize_t n = recv(fd, buffer, (size_t)want, 0);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) {
                        continue;
                    }
                    failed = 1;
                    break;
                }
                if (n == 0 || memcmp(buffer, conn->message + conn->received, (size_t)n) != 0) {
                    failed = 2; /* a wrong or missing echo: reported below with the GIL held */
                    bad_index = index_of_fd[fd];
                    bad_length = n;
                    break;
                }
                conn->received += n;
                if (conn->received == conn->size) {
                    double now = now_s();
                    latencies[done_count++] = now - conn->sent_at;
                    if (to_send > 0) {
                        to_send--;
                        if (start_message(epoll_fd, conn, now) < 0) {
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
        bad = Py_BuildValue("(iny#)", bad_index, conns[bad_index].received, buffer, bad_length);
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
    Py_DECREF(messages);
    return result;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS, "run(epoll_fd, fds, messages, total, spin) -> (elapsed_s, latencies, bad, waited_s)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_echo_loop", "The load generator's closed loop in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__echo_loop(void) { return PyModule_Create(&module); }
