/* The open-loop generator's hot loop in C: the same measurement as the Python loop in
 * workloads/peers/open_loop_generator.py (OpenLoopGenerator._run_python), call for call.
 *
 * Why C: on loopback the generator's send() runs the kernel's TCP receive path of the server's socket,
 * so only a loop with almost no user-space work keeps a schedule of a few microseconds per message.
 * Against the reference server the Python loop kept its lag p99 within 200 us to about 150 k msgs/s
 * here, this loop to about 300 k; against uvloop and asyncio the Python loop was flagged from
 * 200-290 k msgs/s, within reach of open-loop capacities of the fastest servers.
 *
 * Wire behaviour is the Python loop's: message k of the schedule (precomputed in Python from the seeded
 * random.Random, passed as offsets from the start and connection indices) is due at start + offsets[k]
 * and goes to connection picks[k]. A connection carries at most ``depth`` messages not yet echoed; one
 * that falls due while its connection is full waits in the generator (its latency still counts from its
 * due time) and enters the stream when an echo frees a place, with the next pass's writes; ``waits``
 * records, per measured message, how long after its due time it entered the stream (never sent: its age
 * when the loop ended). One pass of the loop issues every message due by then; on each
 * connection with nothing pending, the pass's messages leave in one sendmsg() after it (one message
 * when the loop keeps its schedule; several when they fell due within one pass, as a client's write
 * buffer coalesces them: without it the loop spent one kernel TCP send per message and fell behind
 * near 350 k msgs/s); on a connection with bytes pending they join them without a call; bytes
 * sendmsg() did not take are pending, and EPOLLOUT is watched only while some are. On EPOLLOUT
 * one sendmsg() offers every pending byte (the stream is the message repeated, so pending bytes are a
 * count, sent from the connection's pattern); on EPOLLIN/ERR/HUP one recv() of at most
 * min(64 KiB, bytes outstanding) (1 if none) into a preallocated buffer, compared in order with the
 * stream (memcmp against the pattern at the stream offset). Warm-up messages (index below
 * first_measured) are sent and checked but not recorded. The schedule keeps a timerfd armed SPIN_S
 * before the next due time, or with busy_poll never blocks while messages are scheduled; after the
 * schedule it waits up to drain_s for outstanding echoes. The epoll object, the timerfd and their
 * registrations (data.fd = the descriptor) belong to the Python OpenLoopGenerator; this loop only
 * modifies the interest of sockets already registered and arms the timer.
 *
 * run(epoll_fd, timer_fd, fds, patterns, sizes, offsets, picks, first_measured, lags, latencies, waits,
 *     warmup_s, duration_s, drain_s, spin_s, busy_poll, depth)
 *   -> (start, finished, echoed_in_window, echoes_in_window, not_echoed, in_flight, sent, received, bad)
 *   echoed_in_window: measured messages echoed before the schedule ended; echoes_in_window: echoes of
 *   any message completed while the measured part ran (under overload mostly warm-up messages);
 *   offsets: array('d'), seconds from the start, ascending; picks: array('i'), connection indices;
 *   lags, latencies, waits: writable array('q') of len(offsets) - first_measured, filled in microseconds (the
 *   lag of measured message k at k - first_measured; its latency, or its age when the loop ended if it
 *   was never echoed, likewise); sent, received: bytes of each connection's stream this run (received:
 *   up to the chunk that failed, if one did); bad: None, or (connection index, the chunk) for a wrong,
 *   extra or missing echo (an empty chunk: the server closed the connection); Python describes it and
 *   raises. The clock is CLOCK_MONOTONIC (time.monotonic's, the timerfd's).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>

#define RECV_BYTES (64 * 1024)

#include "_open_loop_common.h"
#define MAX_IOV 64 /* 64 pattern windows of over 64 KiB each: more than a socket's largest send buffer */

typedef struct {
    int fd;
    const char *pattern; /* the message repeated: any window of the stream up to RECV_BYTES is a slice */
    Py_ssize_t pattern_size;
    Py_ssize_t size;
    int64_t sent; /* bytes put into the stream (sent or pending) */
    int64_t received;
    int64_t pending; /* bytes due to be sent that the socket has not taken yet (the stream's last ones) */
    int64_t batched; /* bytes of messages due in this pass of the schedule, offered together after it */
    Py_ssize_t head, tail; /* the messages due and not echoed, oldest first: a list through next_in_flight */
    Py_ssize_t on_wire;    /* of those, the first ones, sent (or pending): at most depth */
    Py_ssize_t first_waiting; /* the first of the rest, waiting for the connection; -1 if none */
} connection;



static int watch(int epoll_fd, int fd, uint32_t events) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = events;
    event.data.fd = fd;
    return epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event);
}

/* The bytes send() or sendmsg() took (0 if the socket was full), or -1 with errno set. */
static ssize_t taken_or_error(ssize_t n) {
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return 0;
    }
    return n;
}

/* Offer every pending byte in one sendmsg(), as the Python loop's send(pending). */
static ssize_t send_pending(connection *conn) {
    struct iovec iov[MAX_IOV];
    int count = 0;
    int64_t position = conn->sent - conn->pending;
    int64_t left = conn->pending;
    Py_ssize_t offset = (Py_ssize_t)(position % conn->size);
    while (left > 0 && count < MAX_IOV) {
        Py_ssize_t length = conn->pattern_size - offset; /* the pattern holds whole messages */
        if (length > left) {
            length = (Py_ssize_t)left;
        }
        iov[count].iov_base = (void *)(conn->pattern + offset);
        iov[count].iov_len = (size_t)length;
        count++;
        left -= length;
        offset = 0;
    }
    struct msghdr header;
    memset(&header, 0, sizeof header);
    header.msg_iov = iov;
    header.msg_iovlen = (size_t)count;
    return taken_or_error(sendmsg(conn->fd, &header, 0));
}


/* Message k enters conn's stream: with the pass's batch (one sendmsg() after it), or behind pending bytes. */
static void put_on_wire(connection *conn, Py_ssize_t index, int *batch, Py_ssize_t *batch_count, Py_ssize_t k,
                        Py_ssize_t first_measured, int64_t *waits, double late_s) {
    conn->on_wire++;
    conn->sent += conn->size;
    if (k >= first_measured) {
        waits[k - first_measured] = (int64_t)(late_s * 1e6);
    }
    if (conn->pending) {
        conn->pending += conn->size;
    } else {
        if (!conn->batched) {
            batch[(*batch_count)++] = (int)index;
        }
        conn->batched += conn->size;
    }
}


static PyObject *run(PyObject *Py_UNUSED(self), PyObject *args) {
    int epoll_fd, timer_fd, busy_poll;
    PyObject *fds_arg, *patterns_arg, *sizes_arg, *offsets_arg, *picks_arg, *lags_arg, *latencies_arg, *waits_arg;
    Py_buffer offsets_buf = {0}, picks_buf = {0}, lags_buf = {0}, latencies_buf = {0}, waits_buf = {0};
    Py_ssize_t first_measured, depth;
    double warmup_s, duration_s, drain_s, spin_s;
    if (!PyArg_ParseTuple(args, "iiOOOOOnOOOddddpn", &epoll_fd, &timer_fd, &fds_arg, &patterns_arg, &sizes_arg,
                          &offsets_arg, &picks_arg, &first_measured, &lags_arg, &latencies_arg, &waits_arg,
                          &warmup_s, &duration_s, &drain_s, &spin_s, &busy_poll, &depth)) {
        return NULL;
    }
    if (depth < 1) {
        PyErr_SetString(PyExc_ValueError, "depth must be at least 1");
        return NULL;
    }
    if (get_array(offsets_arg, &offsets_buf, "d", 0) < 0 || get_array(picks_arg, &picks_buf, "i", 0) < 0 ||
        get_array(lags_arg, &lags_buf, "q", 1) < 0 || get_array(latencies_arg, &latencies_buf, "q", 1) < 0 ||
        get_array(waits_arg, &waits_buf, "q", 1) < 0) {
        PyBuffer_Release(&offsets_buf);
        PyBuffer_Release(&picks_buf);
        PyBuffer_Release(&lags_buf);
        PyBuffer_Release(&latencies_buf);
        return NULL;
    }
    PyObject *fds = NULL, *patterns = NULL, *sizes = NULL, *result = NULL, *bad = NULL;
    PyObject *sent_list = NULL, *received_list = NULL;
    connection *conns = NULL;
    int *index_of_fd = NULL;
    Py_ssize_t *next_in_flight = NULL;
    struct epoll_event *events = NULL;
    int *batch = NULL; /* connections with messages batched in this pass, each once */
    Py_ssize_t batch_count = 0;
    char *buffer = NULL;
    int max_fd = -1, failed = 0, error = 0, bad_index = -1;
    Py_ssize_t count = 0, bad_length = 0, echoed_in_window = 0, echoes_in_window = 0, not_echoed = 0, in_flight = 0;
    double start = 0.0, finished = 0.0;

    fds = PySequence_Fast(fds_arg, "fds must be a sequence");
    /* a tuple of its own: the loop reads the patterns without the GIL, so no other thread may drop one */
    patterns = fds ? PySequence_Tuple(patterns_arg) : NULL;
    sizes = patterns ? PySequence_Fast(sizes_arg, "sizes must be a sequence") : NULL;
    if (sizes == NULL) {
        goto done;
    }
    count = PySequence_Fast_GET_SIZE(fds);
    const double *offsets = offsets_buf.buf;
    const int *picks = picks_buf.buf;
    int64_t *lags = lags_buf.buf, *latencies = latencies_buf.buf, *waits = waits_buf.buf;
    Py_ssize_t total = offsets_buf.len / (Py_ssize_t)sizeof(double);
    Py_ssize_t measured_total = total - first_measured;
    if (count == 0 || PyTuple_GET_SIZE(patterns) != count || PySequence_Fast_GET_SIZE(sizes) != count) {
        PyErr_SetString(PyExc_ValueError, "need one pattern and size per connection, at least one connection");
        goto done;
    }
    if (picks_buf.len / (Py_ssize_t)sizeof(int) != total || first_measured < 0 || first_measured > total ||
        lags_buf.len / (Py_ssize_t)sizeof(int64_t) != measured_total ||
        latencies_buf.len / (Py_ssize_t)sizeof(int64_t) != measured_total ||
        waits_buf.len / (Py_ssize_t)sizeof(int64_t) != measured_total) {
        PyErr_SetString(PyExc_ValueError,
                        "offsets and picks of one length; lags, latencies and waits of one item per measured message");
        goto done;
    }
    conns = PyMem_Calloc((size_t)count, sizeof *conns);
    next_in_flight = PyMem_Malloc((size_t)(total > 0 ? total : 1) * sizeof *next_in_flight);
    events = PyMem_Calloc((size_t)count + 1, sizeof *events);
    batch = PyMem_Calloc((size_t)count, sizeof *batch);
    buffer = PyMem_Malloc(RECV_BYTES);
    if (conns == NULL || next_in_flight == NULL || events == NULL || batch == NULL || buffer == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        long fd = PyLong_AsLong(PySequence_Fast_GET_ITEM(fds, i));
        Py_ssize_t size = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(sizes, i));
        if ((fd == -1 || size == -1) && PyErr_Occurred()) {
            goto done;
        }
        PyObject *pattern = PyTuple_GET_ITEM(patterns, i);
        if (!PyBytes_Check(pattern) || size <= 0 || PyBytes_GET_SIZE(pattern) % size != 0 ||
            PyBytes_GET_SIZE(pattern) < RECV_BYTES + size || fd < 0) {
            PyErr_SetString(PyExc_ValueError, "every pattern must be bytes of whole messages, over 64 KiB + one");
            goto done;
        }
        conns[i].fd = (int)fd;
        conns[i].pattern = PyBytes_AS_STRING(pattern);
        conns[i].pattern_size = PyBytes_GET_SIZE(pattern);
        conns[i].size = size;
        conns[i].head = conns[i].tail = conns[i].first_waiting = -1;
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
    double measure_from = start + warmup_s;
    double schedule_end = measure_from + duration_s;
    double deadline = schedule_end + drain_s;
    double armed = 0.0;
    Py_ssize_t next = 0; /* the next message of the schedule */
    double due = total > 0 ? start + offsets[0] : inf;
    while (!failed) {
        double now = now_s();
        while (due <= now) {
            connection *conn = &conns[picks[next]];
            if (next >= first_measured) {
                lags[next - first_measured] = (int64_t)((now - due) * 1e6);
            }
            next_in_flight[next] = -1;
            if (conn->tail < 0) {
                conn->head = next;
            } else {
                next_in_flight[conn->tail] = next;
            }
            conn->tail = next;
            in_flight++;
            if (conn->on_wire < depth) {
                put_on_wire(conn, picks[next], batch, &batch_count, next, first_measured, waits, now - due);
            } else if (conn->first_waiting < 0) {
                conn->first_waiting = next;
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
        /* One sendmsg() per connection for what fell due in the pass (one message when on schedule). */
        for (Py_ssize_t b = 0; b < batch_count && !failed; b++) {
            connection *conn = &conns[batch[b]];
            conn->pending = conn->batched;
            conn->batched = 0;
            ssize_t taken = send_pending(conn);
            if (taken < 0) {
                failed = 1, error = errno;
                break;
            }
            conn->pending -= taken;
            if (conn->pending && watch(epoll_fd, conn->fd, EPOLLIN | EPOLLOUT) < 0) {
                failed = 1, error = errno;
            }
        }
        batch_count = 0;
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
            if (what & EPOLLOUT) {
                ssize_t taken = send_pending(conn);
                if (taken < 0) {
                    failed = 1, error = errno;
                    break;
                }
                conn->pending -= taken;
                if (!conn->pending && watch(epoll_fd, fd, EPOLLIN) < 0) {
                    failed = 1, error = errno;
                    break;
                }
            }
            if (what & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                int64_t position = conn->received;
                int64_t outstanding = conn->sent - position;
                size_t want = outstanding > RECV_BYTES ? RECV_BYTES : (outstanding ? (size_t)outstanding : 1);
                ssize_t length = recv(fd, buffer, want, 0);
                if (length < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) {
                        continue;
                    }
                    failed = 1, error = errno;
                    break;
                }
                Py_ssize_t offset = (Py_ssize_t)(position % conn->size);
                if (!length || length > outstanding || memcmp(buffer, conn->pattern + offset, (size_t)length) != 0) {
                    failed = 2; /* a wrong, extra or missing echo: reported below with the GIL held */
                    bad_index = index_of_fd[fd];
                    bad_length = length;
                    break;
                }
                int64_t end = position + length;
                conn->received = end;
                int64_t completed = end / conn->size - position / conn->size;
                if (completed) {
                    now = now_s();
                    in_flight -= (Py_ssize_t)completed;
                    conn->on_wire -= (Py_ssize_t)completed;
                    if (now >= measure_from && now < schedule_end) {
                        echoes_in_window += (Py_ssize_t)completed;
                    }
                    for (int64_t c = 0; c < completed; c++) {
                        Py_ssize_t k = conn->head;
                        conn->head = next_in_flight[k];
                        if (conn->head < 0) {
                            conn->tail = -1;
                        }
                        if (k >= first_measured) {
                            latencies[k - first_measured] = (int64_t)((now - (start + offsets[k])) * 1e6);
                            if (now < schedule_end) {
                                echoed_in_window++;
                            }
                        }
                    }
                    /* freed: the messages waiting for this connection leave with the next pass's writes */
                    while (conn->on_wire < depth && conn->first_waiting >= 0) {
                        Py_ssize_t k = conn->first_waiting;
                        conn->first_waiting = next_in_flight[k];
                        put_on_wire(conn, index_of_fd[fd], batch, &batch_count, k, first_measured, waits,
                                    now - (start + offsets[k]));
                    }
                }
            }
        }
    }
    finished = now_s();
    if (arm(timer_fd, 0.0) < 0 && !failed) {
        failed = 1, error = errno;
    }
    if (!failed) {
        for (Py_ssize_t i = 0; i < count; i++) {
            int waiting = 0; /* from first_waiting on, never sent: they waited for the connection all along */
            for (Py_ssize_t k = conns[i].head; k >= 0; k = next_in_flight[k]) {
                waiting = waiting || k == conns[i].first_waiting;
                if (k >= first_measured) {
                    int64_t age = (int64_t)((finished - (start + offsets[k])) * 1e6);
                    latencies[k - first_measured] = age;
                    if (waiting) {
                        waits[k - first_measured] = age;
                    }
                    not_echoed++;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS

    if (failed == 1) {
        errno = error;
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    sent_list = PyList_New(count);
    received_list = PyList_New(count);
    if (sent_list == NULL || received_list == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *sent = PyLong_FromLongLong(conns[i].sent), *received = PyLong_FromLongLong(conns[i].received);
        if (sent == NULL || received == NULL) {
            Py_XDECREF(sent);
            Py_XDECREF(received);
            goto done;
        }
        PyList_SET_ITEM(sent_list, i, sent);
        PyList_SET_ITEM(received_list, i, received);
    }
    if (failed == 2) {
        bad = Py_BuildValue("(iy#)", bad_index, buffer, bad_length);
    } else {
        bad = Py_NewRef(Py_None);
    }
    if (bad == NULL) {
        goto done;
    }
    result = Py_BuildValue("(ddnnnnOOO)", start, finished, echoed_in_window, echoes_in_window, not_echoed, in_flight, sent_list,
                           received_list, bad);

done:
    Py_XDECREF(bad);
    Py_XDECREF(sent_list);
    Py_XDECREF(received_list);
    PyMem_Free(conns);
    PyMem_Free(index_of_fd);
    PyMem_Free(next_in_flight);
    PyMem_Free(events);
    PyMem_Free(batch);
    PyMem_Free(buffer);
    Py_XDECREF(fds);
    Py_XDECREF(patterns);
    Py_XDECREF(sizes);
    PyBuffer_Release(&offsets_buf);
    PyBuffer_Release(&picks_buf);
    PyBuffer_Release(&lags_buf);
    PyBuffer_Release(&latencies_buf);
    PyBuffer_Release(&waits_buf);
    return result;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS,
     "run(epoll_fd, timer_fd, fds, patterns, sizes, offsets, picks, first_measured, lags, latencies, waits, "
     "warmup_s, duration_s, drain_s, spin_s, busy_poll, depth) -> (start, finished, echoed_in_window, "
     "echoes_in_window, not_echoed, "
     "in_flight, sent, "
     "received, bad)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_open_loop", "The open-loop generator's measurement loop in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__open_loop(void) { return PyModule_Create(&module); }
