/* The HTTP load generators' response check, shared by the closed loop (_http_loop.c) and the open loop
 * (_http_open_loop.c), and mirrored call for call by the Python loops (http_generator.py: check_head,
 * feed_response).
 *
 * A response is fed to its parser in whatever pieces recv() returns (split anywhere, its head included):
 *   - the head (status line and headers, up to the blank line; at most HEAD_MAX bytes) is gathered
 *     in the response's own buffer and checked once complete: the status line is "HTTP/1.1 200"
 *     (any reason phrase), there is exactly one Content-Length (name in any case, value with
 *     optional whitespace) equal to the expected body's length, no Transfer-Encoding, and no
 *     "Connection: close" (the server must keep the connection);
 *   - the body is compared with the expected bytes at its offset (memcmp) as it arrives;
 *   - a byte past the end of the response, or any byte while no request is in flight, is wrong:
 *     the server sent more than one response;
 *   - the server closing the connection is wrong wherever it happens (response_closed).
 * The first wrong response is recorded in the run's response_check (reason, offset, bytes), for the
 * loop to return to Python, which describes it and raises.
 *
 * Include after <Python.h> (its pyconfig.h defines _GNU_SOURCE, which memmem needs).
 */
#ifndef COROBENCH_HTTP_RESPONSE_H
#define COROBENCH_HTTP_RESPONSE_H

#include <string.h>

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
    int in_flight;            /* a request is started and its response not yet complete */
    int in_body;              /* the response's head is complete and checked: what follows is body */
    Py_ssize_t head_length;   /* bytes of the response head gathered in head */
    Py_ssize_t body_received; /* bytes of the response body received and checked */
    char head[HEAD_MAX];
} http_response;

/* What every response of a run must be, and the first wrong one. */
typedef struct {
    const char *body;
    Py_ssize_t body_size;
    const char *bad_reason; /* NULL while every response is right */
    Py_ssize_t bad_offset;
    const char *bad_data; /* points into a response's head or the receive buffer, both alive until run returns */
    Py_ssize_t bad_length;
} response_check;

/* What feeding bytes to a connection's parser came to. */
enum { RESPONSE_PARTIAL, RESPONSE_COMPLETE, RESPONSE_WRONG };

/* Record the first wrong response's reason and offending bytes (at most BAD_BYTES of them). */
static int wrong(response_check *check, const char *reason, Py_ssize_t offset, const char *data, Py_ssize_t length) {
    check->bad_reason = reason;
    check->bad_offset = offset;
    check->bad_data = data;
    check->bad_length = length < BAD_BYTES ? length : BAD_BYTES;
    return RESPONSE_WRONG;
}

/* A request has left: its response starts. */
static void response_start(http_response *response) {
    response->in_flight = 1;
    response->in_body = 0;
    response->head_length = 0;
    response->body_received = 0;
}

/* The server closed the connection: wrong wherever it happens, reported with how far the response had
 * come (-1: none was due). */
static int response_closed(response_check *check, http_response *response, const char *buffer) {
    Py_ssize_t received = response->in_flight ? response->head_length + response->body_received : -1;
    return wrong(check, REASON_CLOSED, received, buffer, 0);
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

/* Check the complete head [response->head, + response->head_length), which ends with CRLFCRLF, line by line. */
static int check_head(response_check *check, http_response *response) {
    const char *head = response->head;
    const char *end = head + response->head_length - 2; /* the blank line's CRLF: every line before it ends in CRLF */
    const char *line_end = find_crlf(head, end + 2);
    Py_ssize_t status_length = line_end - head;
    if (status_length < 12 || memcmp(head, "HTTP/1.1 200", 12) != 0 || (status_length > 12 && head[12] != ' ')) {
        return wrong(check, REASON_STATUS, 0, head, status_length);
    }
    int lengths = 0;
    for (const char *line = line_end + 2; line < end; line = line_end + 2) {
        line_end = find_crlf(line, end + 2);
        const char *colon = memchr(line, ':', (size_t)(line_end - line));
        if (colon == NULL) {
            return wrong(check, REASON_HEADER, 0, line, line_end - line);
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
                return wrong(check, REASON_LENGTH_TWICE, 0, line, line_end - line);
            }
            if (!length_matches(value, value_end, check->body_size)) {
                return wrong(check, REASON_LENGTH, 0, value, value_end - value);
            }
        } else if (name_is(line, name_length, "transfer-encoding")) {
            return wrong(check, REASON_CHUNKED, 0, line, line_end - line);
        } else if (name_is(line, name_length, "connection") && asks_to_close(value, value_end)) {
            return wrong(check, REASON_CLOSE, 0, line, line_end - line);
        }
    }
    if (lengths == 0) {
        return wrong(check, REASON_NO_LENGTH, 0, head, response->head_length);
    }
    return RESPONSE_PARTIAL;
}

/* -- the response, incrementally ----------------------------------------------------------------- */

/* Feed the n bytes at data, just received on the response's connection, to it. */
static int response_feed(response_check *check, http_response *response, const char *data, Py_ssize_t n) {
    if (!response->in_flight) {
        return wrong(check, REASON_EXTRA, 0, data, n);
    }
    Py_ssize_t used = 0; /* bytes of data taken by the response so far */
    if (!response->in_body) {
        /* Gather the head; search for its end from the last 3 bytes already gathered, which the
         * previous piece may have ended within. */
        Py_ssize_t had = response->head_length;
        Py_ssize_t gathered = n < HEAD_MAX - had ? n : HEAD_MAX - had;
        memcpy(response->head + had, data, (size_t)gathered);
        response->head_length += gathered;
        Py_ssize_t from = had > 3 ? had - 3 : 0;
        const char *blank = memmem(response->head + from, (size_t)(response->head_length - from), "\r\n\r\n", 4);
        if (blank == NULL) {
            if (response->head_length == HEAD_MAX) {
                return wrong(check, REASON_HEAD_TOO_LONG, 0, response->head, response->head_length);
            }
            return RESPONSE_PARTIAL;
        }
        response->head_length = blank + 4 - response->head;
        used = response->head_length - had;
        if (check_head(check, response) == RESPONSE_WRONG) {
            return RESPONSE_WRONG;
        }
        response->in_body = 1;
    }
    Py_ssize_t take = n - used;
    if (take > check->body_size - response->body_received) {
        take = check->body_size - response->body_received;
    }
    const char *expected = check->body + response->body_received;
    if (memcmp(data + used, expected, (size_t)take) != 0) {
        Py_ssize_t first = 0;
        while (data[used + first] == expected[first]) {
            first++;
        }
        return wrong(check, REASON_BODY, response->body_received + first, data + used + first, take - first);
    }
    response->body_received += take;
    used += take;
    if (response->body_received < check->body_size) {
        return RESPONSE_PARTIAL;
    }
    if (used < n) {
        return wrong(check, REASON_EXTRA, 0, data + used, n - used);
    }
    response->in_flight = 0;
    return RESPONSE_COMPLETE;
}

#endif
