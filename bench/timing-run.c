/* SPDX-License-Identifier: MIT */
/* The timing benchmark's driver (run it through bench/timing): the real transmitter thread on a
 * simulated line, frame after frame, each frame followed by a run of rt-tests' cyclictest at the
 * same priority with the bit period as its interval and as many cycles as the frame had edges,
 * idle and with a CPU load beside them. Prints our edge lateness beside cyclictest's wake-up
 * latency, checks every clean frame bit by bit on the simulated line's trace and with the tests'
 * receiver, and ends with a one-line summary. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decoder.h"
#include "frame.h"
#include "gpio.h"
#include "log.h"
#include "rt.h"
#include "transmitter.h"
#include "waveform.h"

typedef struct Samples {
        uint64_t *v;
        size_t n, n_alloc;
} Samples;

typedef struct Figures {
        size_t n;
        uint64_t p50, p99, max;
} Figures;

typedef struct Row {
        unsigned rate;
        bool load;
        Figures ours, ct;
        unsigned frames_sent, faults;
        unsigned frames_clean; /* frames of passes without a timing fault */
        uint64_t bits_checked; /* bits of those frames sampled on the line */
        uint64_t bits_wrong; /* ... at the wrong level mid-bit */
        unsigned frames_decoded; /* frames the tests' receiver decoded, with the right content */
        unsigned frames_misread; /* frames it decoded with a valid CRC but other content */
        bool realtime;
} Row;

static int arg_priority = 80;
static int arg_cpu = -1;
static double arg_seconds = 0;
static bool arg_quick = false;
static const char *arg_cyclictest = "cyclictest";
static const char *arg_keep = NULL;

static void samples_add(Samples *s, uint64_t v) {
        if (s->n == s->n_alloc) {
                s->n_alloc = s->n_alloc ? 2 * s->n_alloc : 4096;
                s->v = realloc(s->v, s->n_alloc * sizeof(uint64_t));
                if (!s->v) {
                        log_oom();
                        exit(EXIT_FAILURE);
                }
        }
        s->v[s->n++] = v;
}

/* the same nearest-rank figures as the transmitter's own */
static Figures figures(Samples *s) {
        TransmitResult r;

        transmitter_lateness_stats(s->v, s->n, &r);
        return (Figures) { s->n, r.p50_lateness_ns, r.p99_lateness_ns, r.max_lateness_ns };
}

/* ---- the CPU load: one busy process per CPU, memory and arithmetic ---- */

static pid_t *load_start(long *ret_n) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        pid_t *pids;

        if (n < 1)
                n = 1;
        pids = calloc((size_t) n, sizeof(pid_t));
        if (!pids)
                return NULL;
        for (long i = 0; i < n; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        size_t size = 16u << 20;
                        volatile uint64_t x = 1;
                        unsigned char *buf;

                        (void) munlockall();
                        buf = malloc(size);
                        if (!buf)
                                _exit(1);
                        for (;;) {
                                /* sweep 16 MiB (the caches) and spin a little */
                                for (size_t k = 0; k < size; k += 64)
                                        buf[k] = (unsigned char) (buf[k] + k);
                                for (int k = 0; k < 100000; k++)
                                        x = x * 6364136223846793005ull + 1442695040888963407ull;
                                (void) getppid();
                        }
                }
        }
        *ret_n = n;
        return pids;
}

static void load_stop(pid_t *pids, long n) {
        for (long i = 0; i < n; i++)
                if (pids[i] > 0)
                        (void) kill(pids[i], SIGKILL);
        for (long i = 0; i < n; i++)
                if (pids[i] > 0)
                        (void) waitpid(pids[i], NULL, 0);
        free(pids);
}

/* ---- our transmitter ---- */

/* The level of a pass's edges at time t (the line is dark before the first). */
static uint8_t level_at(const DecodeEdge *e, size_t n, uint64_t t, uint8_t dark) {
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (e[mid].t_ns <= t)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo == 0 ? dark : e[lo - 1].level;
}

/* Reads what the last job added to the trace and, for a clean job, samples the line in the
 * middle of every bit of every frame of its last pass, on the ideal grid of that pass (t0 from
 * the earliest edge), against the waveform. */
static int check_job(FILE *reader, const Waveform *w, bool clean, Row *row) {
        DecodeEdge *e = NULL, *pass;
        uint64_t t0 = UINT64_MAX;
        long n;

        clearerr(reader);
        n = decoder_read_vcd(reader, &e);
        if (!clean) {
                free(e);
                return 0;
        }
        if (n < (long) w->n_edges) {
                free(e);
                return log_error_errno(-EIO, "The trace lacks edges of a clean pass.");
        }

        pass = e + (n - (long) w->n_edges);
        for (size_t i = 0; i < w->n_edges; i++)
                t0 = MIN(t0, pass[i].t_ns - w->edges[i].offset_ns);
        for (unsigned r = 0; r < w->repeat; r++) {
                uint64_t first = w->lead_in_bits + r * (w->frame_bits + w->gap_bits);

                for (uint64_t k = first; k < first + w->frame_bits; k++) {
                        uint64_t a = waveform_bit_offset_ns(k, w->rate),
                                 b = waveform_bit_offset_ns(k + 1, w->rate);
                        uint64_t mid = a + (b - a) / 2;

                        row->bits_checked++;
                        if (level_at(pass, w->n_edges, t0 + mid, w->idle_level) != waveform_level_at(w, mid))
                                row->bits_wrong++;
                }
        }
        row->frames_clean += w->repeat;
        free(e);
        return 0;
}

/* ---- cyclictest ---- */

/* Runs cyclictest for the given number of cycles (at least 100) with the bit period as interval
 * and adds its wake-up latencies to s and all. */
static int run_cyclictest(unsigned rate, size_t cycles, bool realtime, Samples *s, Samples *all) {
        char interval[32], loops[32], prio[32], affinity[32];
        const char *argv[24];
        size_t n = 0, n_samples = 0;
        int pipefd[2], status;
        pid_t pid;
        FILE *f;
        char line[256], other[4096] = "";

        snprintf(interval, sizeof(interval), "-i%" PRIu64, (transmitter_bit_ns(rate) + 500) / 1000);
        snprintf(loops, sizeof(loops), "-l%zu", MAX(cycles, (size_t) 100));
        snprintf(prio, sizeof(prio), "-p%d", realtime ? arg_priority : 0);
        argv[n++] = arg_cyclictest;
        argv[n++] = "-q";
        argv[n++] = "-m";
        argv[n++] = "-t1";
        argv[n++] = "-v";
        argv[n++] = "-N";
        argv[n++] = "--default-system"; /* no PM QoS tuning: the daemon does none either */
        argv[n++] = realtime ? "--policy=fifo" : "--policy=other";
        argv[n++] = prio;
        argv[n++] = interval;
        argv[n++] = loops;
        if (arg_cpu >= 0) {
                snprintf(affinity, sizeof(affinity), "-a%d", arg_cpu);
                argv[n++] = affinity;
        }
        argv[n] = NULL;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "pipe2() failed: %m");
        pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "fork() failed: %m");
        if (pid == 0) {
                (void) dup2(pipefd[1], STDOUT_FILENO);
                (void) dup2(pipefd[1], STDERR_FILENO); /* shown only when it fails */
                execvp(argv[0], (char *const *) argv);
                fprintf(stderr, "Cannot run %s: %m (Debian: apt install rt-tests)\n", argv[0]);
                _exit(127);
        }
        close(pipefd[1]);
        f = fdopen(pipefd[0], "re");
        if (!f)
                return log_error_errno(-errno, "fdopen() failed: %m");
        while (fgets(line, sizeof(line), f)) {
                unsigned thread, count;
                uint64_t v;

                /* "       0:      12:   40655": thread, loop, latency in ns */
                if (sscanf(line, " %u: %u: %" SCNu64, &thread, &count, &v) == 3) {
                        samples_add(s, v);
                        samples_add(all, v);
                        n_samples++;
                } else if (strlen(other) + strlen(line) < sizeof(other))
                        strcat(other, line);
        }
        fclose(f);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(-ECHILD, "cyclictest failed:\n%s", other);
        return n_samples > 0 ? 0 : log_error_errno(-ENODATA, "cyclictest printed no samples.");
}

/* One condition: rounds of one transmitter job (one frame, lead-in and tail included) followed by
 * cyclictest for as many cycles as the job had edges, so that both see the same background over
 * the same stretch of time and both percentiles come from samples of one size. */
static int run_condition(unsigned rate, double seconds, const char *trace, Row *row, Samples *ours_all,
                         Samples *ct_all) {
        FrameRequest req = { .ssid = "Factory",
                             .password = "secret123",
                             .plan_id = "0123456789abcdef",
                             .token = "fedcba9876543210" };
        /* no resends here: a timing fault is counted and its frame abandoned, so that every round
         * takes the same time */
        TransmitterConfig c = { .priority = arg_priority, .cpu = arg_cpu, .timing_fault_retries = 0 };
        Samples ours = {}, ct = {};
        GpioLine *led = NULL;
        Transmitter *t = NULL;
        char expected[2 * FRAME_BYTES_MAX + 1], *err = NULL;
        WaveformParams p;
        Waveform w = {};
        Frame f;
        FILE *reader = NULL;
        DecodeEdge *e = NULL;
        unsigned rounds;
        long ne;
        int r;

        r = frame_encode(&req, &f, NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot encode the frame: %m");
        frame_to_hex(&f, expected);
        waveform_params_default(&p, rate == WAVEFORM_RATE_FAST, false);
        r = waveform_build(&f, &p, &w);
        if (r < 0)
                return log_error_errno(r, "Cannot build the waveform: %m");
        rounds = (unsigned) MAX(1.0, round(seconds * 1e9 / (double) w.duration_ns));

        r = gpio_output_open(CONFIG_SIM_CHIP, "led", false, trace, &led, &err);
        if (r < 0) {
                log_error_errno(r, "%s", err);
                free(err);
                goto finish;
        }
        r = transmitter_new(led, &c, &t);
        if (r < 0) {
                log_error_errno(r, "Cannot start the transmitter: %m");
                goto finish;
        }
        row->realtime = transmitter_is_realtime(t);
        reader = fopen(trace, "re");
        if (!reader) {
                r = log_error_errno(-errno, "Cannot read %s: %m", trace);
                goto finish;
        }

        for (unsigned round_ = 0; round_ < rounds; round_++) {
                struct pollfd pfd = { .fd = transmitter_get_fd(t), .events = POLLIN };
                TransmitResult res;
                const uint64_t *lat;
                size_t n;

                r = transmitter_start(t, &w);
                if (r < 0) {
                        log_error_errno(r, "Cannot start a job: %m");
                        goto finish;
                }
                while (poll(&pfd, 1, -1) < 0)
                        if (errno != EINTR) {
                                r = log_error_errno(-errno, "poll() failed: %m");
                                goto finish;
                        }
                r = transmitter_get_result(t, &res);
                if (r < 0) {
                        log_error_errno(r, "No result: %m");
                        goto finish;
                }
                if (res.error < 0) {
                        r = log_error_errno(res.error, "The transmitter failed: %m");
                        goto finish;
                }
                n = transmitter_get_lateness(t, &lat);
                for (size_t i = 0; i < n; i++) {
                        samples_add(&ours, lat[i]);
                        samples_add(ours_all, lat[i]);
                }
                row->frames_sent += res.frames_sent;
                row->faults += res.timing_faults;
                r = check_job(reader, &w, res.clean, row);
                if (r < 0)
                        goto finish;

                r = run_cyclictest(rate, n, row->realtime, &ct, ct_all);
                if (r < 0)
                        goto finish;
        }

        t = transmitter_free(t);
        led = gpio_line_free(led);

        /* every frame on the line, as the tests' receiver sees it */
        rewind(reader);
        ne = decoder_read_vcd(reader, &e);
        if (ne < 0) {
                r = log_error_errno(-EIO, "Cannot read the trace %s.", trace);
                goto finish;
        }
        for (size_t pos = 0; pos < (size_t) ne;) {
                size_t before = pos;
                DecodedFrame d;
                char hex[2 * sizeof(d.bytes) + 1];

                if (decoder_decode(e, (size_t) ne, false, &pos, &d) == 0) {
                        decoder_hex(&d, hex);
                        if (streq(hex, expected))
                                row->frames_decoded++;
                        else
                                row->frames_misread++; /* a valid CRC over wrong bits */
                } else
                        pos = before + 1; /* an aborted frame: look for the next preamble */
        }
        row->ours = figures(&ours);
        row->ct = figures(&ct);
        r = 0;

finish:
        if (reader)
                fclose(reader);
        free(e);
        transmitter_free(t);
        gpio_line_free(led);
        waveform_done(&w);
        free(ours.v);
        free(ct.v);
        return r;
}

static double us(uint64_t ns) {
        return (double) ns / 1000.0;
}

static void help(void) {
        printf("Usage: bench/timing [--quick] [--priority=N] [--cpu=N] [--seconds=S] [--keep-traces=DIR]\n\n"
               "Runs the BlinkUp transmitter on a simulated line for many frames at 142 and 60 bits/s\n"
               "and cyclictest at the same priority with the bit period as interval, idle and with a\n"
               "CPU load, and prints our edge lateness beside cyclictest's wake-up latency.\n\n"
               "  --quick          142 bits/s only, about 35 s in all\n"
               "  --priority=N     SCHED_FIFO priority of both (default 80; 0 = normal)\n"
               "  --cpu=N          pin both to CPU N\n"
               "  --seconds=S      time of frames in each condition (default 60, quick 12)\n"
               "  --keep-traces=DIR  keep the simulated line's VCD traces there\n"
               "  --cyclictest=PATH  the cyclictest to run\n");
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "quick", no_argument, NULL, 'q' },
                                                 { "priority", required_argument, NULL, 'p' },
                                                 { "cpu", required_argument, NULL, 'c' },
                                                 { "seconds", required_argument, NULL, 's' },
                                                 { "keep-traces", required_argument, NULL, 'k' },
                                                 { "cyclictest", required_argument, NULL, 'C' },
                                                 {} };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'q':
                        arg_quick = true;
                        break;
                case 'p':
                        arg_priority = atoi(optarg);
                        break;
                case 'c':
                        arg_cpu = atoi(optarg);
                        break;
                case 's':
                        arg_seconds = strtod(optarg, NULL);
                        if (arg_seconds <= 0) {
                                log_error("Invalid --seconds=%s.", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'k':
                        arg_keep = optarg;
                        break;
                case 'C':
                        arg_cyclictest = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (arg_seconds == 0)
                arg_seconds = arg_quick ? 12 : 60;
        return 1;
}

int main(int argc, char *argv[]) {
        static const unsigned rates[] = { WAVEFORM_RATE_FAST, WAVEFORM_RATE_NORMAL };
        Row rows[4] = {};
        Samples ours_all = {}, ct_all = {};
        size_t n_rows = 0;
        char tmpdir[] = "/tmp/blinkup-timing.XXXXXX";
        const char *dir;
        uint64_t bits_wrong = 0;
        unsigned faults = 0, misread = 0;
        bool realtime = true;
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        r = rt_prepare();
        if (r < 0)
                log_warning_errno(r, "Cannot lock memory (mlockall): %m; page faults may add latency.");
        dir = arg_keep;
        if (!dir) {
                dir = mkdtemp(tmpdir);
                if (!dir)
                        return log_error_errno(-errno, "mkdtemp() failed: %m"), 1;
        }

        for (size_t ri = 0; ri < (arg_quick ? 1 : ELEMENTSOF(rates)); ri++)
                for (int load = 0; load <= 1; load++) {
                        Row *row = &rows[n_rows];
                        _cleanup_(freep) char *trace = NULL;
                        pid_t *pids = NULL;
                        long n_pids = 0;

                        *row = (Row) { .rate = rates[ri], .load = load };
                        if (asprintf(&trace, "%s/led-%u-%s.vcd", dir, row->rate, load ? "load" : "idle") < 0)
                                return log_oom(), 1;
                        fprintf(stderr,
                                "timing: %u bits/s, %s: about %.0f s of frames, each followed by "
                                "cyclictest\n",
                                row->rate, load ? "CPU load" : "idle", arg_seconds);
                        if (load) {
                                pids = load_start(&n_pids);
                                if (!pids)
                                        return log_oom(), 1;
                                usleep(200 * 1000);
                        }
                        r = run_condition(row->rate, arg_seconds, trace, row, &ours_all, &ct_all);
                        if (pids)
                                load_stop(pids, n_pids);
                        if (!arg_keep)
                                (void) unlink(trace);
                        if (r < 0)
                                return 1;
                        realtime = realtime && row->realtime;
                        bits_wrong += row->bits_wrong;
                        misread += row->frames_misread;
                        faults += row->faults;
                        n_rows++;
                }
        if (!arg_keep)
                (void) rmdir(dir);

        printf("\nBlinkUp transmitter edge lateness (after the line write) beside cyclictest\n"
               "wake-up latency, %s, interval = one bit period, as many cycles as\n"
               "edges, each frame followed by its cyclictest run on the same machine. Times in us.\n\n",
               realtime ? "SCHED_FIFO" : "NORMAL scheduling (real-time refused)");
        if (realtime)
                printf("priority %d%s\n\n", arg_priority, arg_cpu >= 0 ? ", pinned" : "");
        printf("%-4s %-4s | %6s %7s %7s %8s | %6s %6s %6s %7s %4s | %7s %7s %7s %8s | %5s\n", "rate", "load",
               "edges", "p50", "p99", "max", "frames", "faults", "clean", "bits", "bad", "samples", "p50",
               "p99", "max", "ratio");
        for (size_t i = 0; i < n_rows; i++) {
                Row *row = &rows[i];
                printf("%-4u %-4s | %6zu %7.1f %7.1f %8.1f | %6u %6u %6u %7" PRIu64 " %4" PRIu64
                       " | %7zu %7.1f %7.1f %8.1f | %5.2f\n",
                       row->rate, row->load ? "yes" : "no", row->ours.n, us(row->ours.p50),
                       us(row->ours.p99), us(row->ours.max), row->frames_sent, row->faults,
                       row->frames_clean, row->bits_checked, row->bits_wrong, row->ct.n, us(row->ct.p50),
                       us(row->ct.p99), us(row->ct.max),
                       row->ct.p99 > 0 ? (double) row->ours.p99 / (double) row->ct.p99 : 0.0);
        }
        printf("\nframes: sent (aborted ones included); faults: frames abandoned after an edge later\n"
               "than 10 %% of a bit (the daemon would resend them; not here); clean: frames without;\n"
               "bits: sampled mid-bit on the line in the clean frames, bad = at the wrong level.\n"
               "The tests' receiver (clock from the preamble) decoded");
        for (size_t i = 0; i < n_rows; i++)
                printf("%s %u of %u (%u, %s)", i > 0 ? "," : "", rows[i].frames_decoded,
                       rows[i].frames_clean, rows[i].rate, rows[i].load ? "load" : "idle");
        printf(" clean frames\nand misread %u. Timing faults in all: %u.\n", misread, faults);

        Figures o = figures(&ours_all), c = figures(&ct_all);
        printf("timing: edges=%zu p99_lateness_us=%.1f max_lateness_us=%.1f cyclictest_p99_us=%.1f "
               "ratio=%.2f\n",
               o.n, us(o.p99), us(o.max), us(c.p99), c.p99 > 0 ? (double) o.p99 / (double) c.p99 : 0.0);
        free(ours_all.v);
        free(ct_all.v);
        return bits_wrong > 0 || misread > 0 ? 1 : 0;
}
