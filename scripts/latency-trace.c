// Sends N chat completions one after another on one keep-alive connection and prints, per request, when it started
// (nanoseconds after the first) and how long it took, as CSV. Used by scripts/latency-trace.sh to see when the
// slowest requests happen; wrk reports only a histogram.
//
// usage: latency-trace PORT COUNT API_KEY
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: latency-trace PORT COUNT API_KEY\n");
        return 2;
    }
    int port = atoi(argv[1]), count = atoi(argv[2]);
    const char *body = "{\"model\":\"bench\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                       "{\"role\":\"user\",\"content\":\"Say something about foxes.\"}]}";
    char request[2048];
    int length = snprintf(request, sizeof request,
                          "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n%s",
                          argv[3], strlen(body), body);
    if (length <= 0 || length >= (int)sizeof request || count <= 0) {
        fprintf(stderr, "latency-trace: bad arguments\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("latency-trace: connect");
        return 1;
    }
    static char response[1 << 16];
    long long *starts = malloc(sizeof(long long) * count), *latencies = malloc(sizeof(long long) * count);
    for (int i = 0; i < count; i++) {
        long long start = now_ns();
        if (write(fd, request, length) != length) {
            perror("latency-trace: write");
            return 1;
        }
        int received = 0, expected = -1;
        for (;;) {
            int n = read(fd, response + received, sizeof response - received - 1);
            if (n <= 0) {
                fprintf(stderr, "latency-trace: connection ended after %d requests\n", i);
                return 1;
            }
            received += n;
            response[received] = 0;
            char *end = strstr(response, "\r\n\r\n");
            if (end && expected < 0) {
                char *field = strcasestr(response, "content-length:");
                if (!field || field > end) {
                    fprintf(stderr, "latency-trace: a response without Content-Length\n");
                    return 1;
                }
                expected = (int)(end + 4 - response) + atoi(field + 15);
            }
            if (expected >= 0 && received >= expected) break;
        }
        if (strncmp(response, "HTTP/1.1 200", 12) != 0) {
            fprintf(stderr, "latency-trace: %.60s\n", response);
            return 1;
        }
        starts[i] = start;
        latencies[i] = now_ns() - start;
    }
    for (int i = 0; i < count; i++) printf("%lld,%lld\n", starts[i] - starts[0], latencies[i]);
    return 0;
}
