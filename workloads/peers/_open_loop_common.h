/* What both open-loop generators' C loops share (_open_loop.c: echo; _http_open_loop.c: HTTP): the clock, the
 * schedule's timerfd, epoll's millisecond timeout, and the typed arrays Python passes in.
 *
 * Include after <Python.h>, <string.h>, <sys/timerfd.h> and <time.h>.
 */
#ifndef COROBENCH_OPEN_LOOP_COMMON_H
#define COROBENCH_OPEN_LOOP_COMMON_H

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fire at monotonic time ``at`` (re-arming clears an expiry not yet read); 0 disarms. */
static int arm(int timer_fd, double at) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    spec.it_value.tv_sec = (time_t)at;
    spec.it_value.tv_nsec = (long)((at - (double)spec.it_value.tv_sec) * 1e9);
    return timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static int milliseconds_up(double seconds) {
    double ms = seconds * 1e3;
    int whole = (int)ms;
    return whole < ms ? whole + 1 : whole;
}

/* A contiguous buffer of ``format`` items (array('d'), array('i'), array('q')), writable if asked. */
static int get_array(PyObject *object, Py_buffer *view, const char *format, int writable) {
    int flags = PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, view, flags) < 0) {
        return -1;
    }
    if (view->format == NULL || strcmp(view->format, format) != 0) {
        PyErr_Format(PyExc_TypeError, "expected an array of format '%s', got '%s'", format,
                     view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#endif
