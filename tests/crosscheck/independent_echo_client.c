/* Independent closed-loop echo client: a yardstick for the suite's tcp_echo throughput.
 *
 * Written for tests/crosscheck/independent_echo_client.py and sharing no code with the suite's load
 * generator: a standalone program (plain main(), no Python), one poll(2) call over every socket per
 * turn, non-blocking sockets, its own buffers and its own message patterns.
 *
 * Usage: independent_echo_client HOST PORT CONNECTIONS MESSAGE_SIZE MESSAGES [SEED [block|spin]]
 *
 * 1. Opens CONNECTIONS TCP connections to HOST:PORT (TCP_NODELAY, then O_NONBLOCK) and writes the
 *    line "connected" to stderr.
 * 2. Waits for a line on stdin (end of input counts as the line), so a caller can read the server's
 *    CPU time just before the timed part.
 * 3. Closed loop, one message in flight per connection: each connection sends a message of
 *    MESSAGE_SIZE bytes, reads until the whole echo is back, compares every chunk with what it sent
 *    (memcmp) and sends its next message, until MESSAGES echoes have completed in total. Message k of
 *    connection c is the pattern (SEED, c, k % 2) expanded by a splitmix64 stream: the connections'
 *    messages differ from one another, and consecutive messages of one connection differ, so an
 *    echo of the previous message is caught too.
 * 4. Prints one JSON line to stdout: {"messages": N, "seconds": S, "client_cpu_s": U}, where S runs
 *    from the first send to the last complete echo (CLOCK_MONOTONIC) and U is this process's user +
 *    system CPU time over the same span (getrusage).
 *    With "block" (the default) each poll(2) sleeps until a socket is ready; with "spin" it returns
 *    at once (timeout 0) and the loop polls again, so the client never sleeps while echoes are due.
 *    On loopback in a VM that changes the server's own cost per message (a sleeping client has to
 *    be woken by the server's send), which is why both exist.
 * 5. Waits for another line (or end of input) on stdin before it closes the connections, so the
 *    caller can read the server's CPU time again before the server sees any connection close.
 *
 * A wrong echo, a short one (the server closed the connection) or a socket error prints one line to
 * stderr naming the connection, the message and the byte offset, and exits with status 1; bad
 * arguments or a failed connect exit with status 2. No progress on any connection for 30 s is an
 * error too.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define STALL_MS 30000
#define PATTERNS 2 /* message k of a connection uses pattern k % PATTERNS */

struct peer {
    int sock;
    unsigned char *pattern[PATTERNS]; /* the bytes each message variant carries */
    unsigned char *inbox;             /* where the echo of the message in flight lands */
    size_t out;                       /* bytes of the message in flight written so far */
    size_t in;                        /* bytes of its echo read and checked so far */
    long serial;                      /* this connection's number for the message in flight */
    int busy;                         /* a message is in flight */
};

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void fill_pattern(unsigned char *dst, size_t size, uint64_t seed, long connection, int variant)
{
    uint64_t state = seed ^ ((uint64_t)connection << 32) ^ ((uint64_t)variant << 16) ^ 0x636F726FULL;
    size_t at = 0;
    while (at < size) {
        uint64_t word = splitmix64(&state);
        for (int i = 0; i < 8 && at < size; i++, at++) {
            dst[at] = (unsigned char)(word >> (8 * i));
        }
    }
}

static double monotonic_s(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec * 1e-6;
}

static long parse_count(const char *text, const char *what, long low, long high)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
        fprintf(stderr, "independent_echo_client: %s must be an integer in [%ld, %ld], not '%s'\n", what, low,
                high, text);
        exit(2);
    }
    return value;
}

static int open_connection(const struct addrinfo *addresses)
{
    for (const struct addrinfo *a = addresses; a != NULL; a = a->ai_next) {
        int sock = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (sock < 0) {
            continue;
        }
        if (connect(sock, a->ai_addr, a->ai_addrlen) == 0) {
            int one = 1;
            if (setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
                fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) == 0) {
                return sock;
            }
        }
        close(sock);
    }
    return -1;
}

/* Reads one line (or to end of input) from stdin: the caller's go-ahead. */
static void wait_for_line(void)
{
    int c;
    do {
        c = getchar();
    } while (c != EOF && c != '\n');
}

/* Writes as much of the message in flight as the socket takes; returns 0, or -1 on a socket error. */
static int push(struct peer *p, size_t size)
{
    const unsigned char *message = p->pattern[p->serial % PATTERNS];
    while (p->out < size) {
        ssize_t n = send(p->sock, message + p->out, size - p->out, MSG_NOSIGNAL);
        if (n > 0) {
            p->out += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return -1;
        }
    }
    return 0;
}

static void fail(long connection, const struct peer *p, size_t size, const char *what)
{
    fprintf(stderr,
            "independent_echo_client: connection %ld, message %ld: %s at offset %zu "
            "(%zu of %zu bytes sent)\n",
            connection, p->serial, what, p->in, p->out, size);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 8 || (argc == 8 && strcmp(argv[7], "block") != 0 && strcmp(argv[7], "spin") != 0)) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS MESSAGE_SIZE MESSAGES [SEED [block|spin]]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    const char *port = argv[2];
    long connections = parse_count(argv[3], "CONNECTIONS", 1, 4096);
    long size_arg = parse_count(argv[4], "MESSAGE_SIZE", 1, 64L * 1024 * 1024);
    long messages = parse_count(argv[5], "MESSAGES", 1, LONG_MAX);
    uint64_t seed = argc >= 7 ? (uint64_t)parse_count(argv[6], "SEED", 0, 0x7FFFFFFFL) : 1;
    int spin = argc == 8 && strcmp(argv[7], "spin") == 0;
    size_t size = (size_t)size_arg;

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *addresses = NULL;
    int gai = getaddrinfo(host, port, &hints, &addresses);
    if (gai != 0) {
        fprintf(stderr, "independent_echo_client: cannot resolve %s:%s: %s\n", host, port, gai_strerror(gai));
        return 2;
    }

    struct peer *peers = calloc((size_t)connections, sizeof *peers);
    struct pollfd *watch = calloc((size_t)connections, sizeof *watch);
    unsigned char *arena = malloc((size_t)connections * (PATTERNS + 1) * size);
    if (peers == NULL || watch == NULL || arena == NULL) {
        fprintf(stderr, "independent_echo_client: out of memory\n");
        return 2;
    }
    for (long c = 0; c < connections; c++) {
        struct peer *p = &peers[c];
        unsigned char *mine = arena + (size_t)c * (PATTERNS + 1) * size;
        for (int v = 0; v < PATTERNS; v++) {
            p->pattern[v] = mine + (size_t)v * size;
            fill_pattern(p->pattern[v], size, seed, c, v);
        }
        p->inbox = mine + PATTERNS * size;
        p->sock = open_connection(addresses);
        if (p->sock < 0) {
            fprintf(stderr, "independent_echo_client: connection %ld to %s:%s failed: %s\n", c, host, port,
                    strerror(errno));
            return 2;
        }
        watch[c].fd = -1; /* poll skips it until it has a message in flight */
    }
    freeaddrinfo(addresses);

    fprintf(stderr, "connected\n");
    fflush(stderr);
    wait_for_line();

    long started = 0, completed = 0;
    double cpu_start = cpu_s();
    double t_start = monotonic_s();
    double last_progress = t_start; /* spin mode: when an echo's bytes last arrived */
    for (long c = 0; c < connections && started < messages; c++, started++) {
        struct peer *p = &peers[c];
        p->busy = 1;
        if (push(p, size) < 0) {
            fail(c, p, size, strerror(errno));
        }
        watch[c].fd = p->sock;
        watch[c].events = POLLIN | (p->out < size ? POLLOUT : 0);
    }

    while (completed < messages) {
        int ready = poll(watch, (nfds_t)connections, spin ? 0 : STALL_MS);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("independent_echo_client: poll");
            return 1;
        }
        if (ready == 0) {
            if (spin && monotonic_s() - last_progress < STALL_MS / 1000.0) {
                continue;
            }
            for (long c = 0; c < connections; c++) {
                if (peers[c].busy) {
                    fail(c, &peers[c], size, "no echo for 30 s");
                }
            }
        }
        for (long c = 0; c < connections && ready > 0; c++) {
            short got = watch[c].revents;
            if (got == 0) {
                continue;
            }
            ready--;
            struct peer *p = &peers[c];
            if ((got & POLLOUT) && push(p, size) < 0) {
                fail(c, p, size, strerror(errno));
            }
            if (got & (POLLIN | POLLERR | POLLHUP)) {
                ssize_t n = recv(p->sock, p->inbox + p->in, size - p->in, 0);
                if (n == 0) {
                    fail(c, p, size, "short echo: the server closed the connection");
                } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    fail(c, p, size, strerror(errno));
                } else if (n > 0) {
                    const unsigned char *sent = p->pattern[p->serial % PATTERNS];
                    if (memcmp(p->inbox + p->in, sent + p->in, (size_t)n) != 0) {
                        size_t at = 0;
                        while (p->inbox[p->in + at] == sent[p->in + at]) {
                            at++;
                        }
                        fprintf(stderr,
                                "independent_echo_client: connection %ld, message %ld: wrong echo at offset %zu: "
                                "sent 0x%02x, got 0x%02x\n",
                                c, p->serial, p->in + at, sent[p->in + at], p->inbox[p->in + at]);
                        return 1;
                    }
                    p->in += (size_t)n;
                    last_progress = spin ? monotonic_s() : 0.0;
                    if (p->in == size) {
                        completed++;
                        p->in = 0;
                        p->out = 0;
                        p->serial++;
                        if (started < messages) {
                            started++;
                            if (push(p, size) < 0) {
                                fail(c, p, size, strerror(errno));
                            }
                        } else {
                            p->busy = 0;
                            watch[c].fd = -1;
                            continue;
                        }
                    }
                }
            }
            watch[c].events = POLLIN | (p->out < size ? POLLOUT : 0);
        }
    }
    double seconds = monotonic_s() - t_start;
    double client_cpu = cpu_s() - cpu_start;

    printf("{\"messages\": %ld, \"seconds\": %.9f, \"client_cpu_s\": %.6f}\n", completed, seconds, client_cpu);
    fflush(stdout);
    wait_for_line();
    for (long c = 0; c < connections; c++) {
        close(peers[c].sock);
    }
    free(arena);
    free(watch);
    free(peers);
    return 0;
}
