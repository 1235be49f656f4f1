/*
 * probe_worker: run one scripted membarrier(2) scenario on the live kernel.
 *
 * Part of membarrier-spec (`membarrier-spec probe`); the Python side writes the
 * script, compiles this file once into its cache, runs it, and compares what
 * it prints with what the model predicts for the same script.
 *
 * Usage: probe_worker SCRIPT
 *
 * SCRIPT lines (whitespace separated):
 *   thread NAME PROCESS CPU      a thread of process PROCESS (any word), pinned to CPU
 *   watch CPU                    a CPU whose scheduling state the scenario depends on
 *   spin NAME                    NAME runs in user mode on its CPU (woken if it was blocked)
 *   block NAME                   NAME sleeps in futex_wait (its CPU goes idle if nothing else runs there)
 *   call NAME CMD                NAME calls membarrier(CMD, 0, 0) once
 *   measure NAME CMD COUNT       NAME calls membarrier(CMD, 0, 0) COUNT times; the CAL row of
 *                                /proc/interrupts is read before and after
 *   exit NAME                    NAME exits (pthread_exit: exit_mm() runs on its CPU)
 *
 * Every thread starts blocked.  Each process is a fork of the controller whose
 * threads are the script's threads only (its main thread exits once they are
 * created), so mm_users counts exactly the script's threads.  The controller
 * runs on CPU 0 and sleeps while a thread works.
 *
 * Output: one JSON object on stdout, written when the run is over:
 *   {"steps": [{"op": .., "thread": .., "ret": .., "cal": [per CPU delta],
 *               "switches": {thread: pcount delta}, "wall_us": .., "runtime_us": {thread: ..},
 *               "others": ["tid comm@cpu", ..]}, ..]}
 * or {"error": "..."} with exit status 2.  "switches" counts how often each
 * script thread was put on a CPU (/proc/TID/schedstat, -1 once it is gone);
 * "others" lists the user tasks outside the probe that ran on a watched CPU
 * (/proc/PID/task/TID/schedstat and stat) or that ran and migrated in the
 * window, so may have visited one (se.nr_migrations in /proc/PID/task/TID/sched;
 * a task whose count is unknown counts as migrated), and tasks that started and ended
 * unseen (the last pid in /proc/loadavg moved past the tasks still there):
 * each is a sign that something else disturbed the scheduler state the
 * scenario sets up.  Both cover the
 * time since the previous step ended, so nothing between steps goes unseen.
 *
 * No process outlives the controller: children carry PR_SET_PDEATHSIG, and
 * the controller kills them on every exit path (a SIGALRM after 120 s too).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16
#define MAX_PROCS 8
#define MAX_STEPS 64
#define MAX_CPUS 256
#define MAX_TASKS 8192
#define NAME_LEN 32
#ifndef SYS_membarrier
#define SYS_membarrier 324  /* x86-64 */
#endif
#define PF_KTHREAD 0x00200000

enum op { OP_NONE, OP_SPIN, OP_BLOCK, OP_CALL, OP_MEASURE, OP_EXIT };
static const char *op_names[] = {"none", "spin", "block", "call", "measure", "exit"};

struct slot {                 /* shared between the controller and one thread */
	volatile int seq;     /* bumped by the controller for each command */
	volatile int ack;     /* set to seq by the thread when it has done the command */
	volatile int op, cmd;
	volatile long count, ret;
	volatile int tid;
};

struct thread { char name[NAME_LEN], proc[NAME_LEN]; int cpu, proc_index; };
struct step { enum op op; int thread, cmd; long count; };

static struct thread threads[MAX_THREADS];
static int nthreads;
static char procs[MAX_PROCS][NAME_LEN];
static int nprocs;
static pid_t children[MAX_PROCS];
static struct step steps[MAX_STEPS];
static int nsteps;
static int watched[MAX_CPUS];
static struct slot *slots;

static char *out;             /* the JSON output, printed at the end */
static size_t out_len, out_cap;

static void emit(const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(out + out_len, out_cap - out_len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < out_cap - out_len) {
			out_len += n;
			return;
		}
		out_cap = out_cap * 2 + (n > 0 ? (size_t)n : 0) + 256;
		out = realloc(out, out_cap);
		if (!out)
			_exit(3);
	}
}

static void kill_children(void)
{
	for (int i = 0; i < nprocs; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
}

static void json_string(const char *s)
{
	emit("\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			emit("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			emit("\\u%04x", *s);
		else
			emit("%c", *s);
	}
	emit("\"");
}

static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	kill_children();
	out_len = 0;
	emit("{\"error\": ");
	json_string(msg);
	emit("}\n");
	fwrite(out, 1, out_len, stdout);
	exit(2);
}

static void on_alarm(int sig)
{
	(void)sig;
	for (int i = 0; i < nprocs; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	static const char msg[] = "{\"error\": \"probe_worker: timed out\"}\n";
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(2);
	_exit(2);
}

static long futex(volatile int *addr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

static long membarrier(int cmd)
{
	long r = syscall(SYS_membarrier, cmd, 0, 0);
	return r < 0 ? -errno : r;
}

static int find_thread(const char *name)
{
	for (int i = 0; i < nthreads; i++)
		if (!strcmp(threads[i].name, name))
			return i;
	fail("unknown thread %s", name);
	return -1;
}

static void parse(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	if (!f)
		fail("cannot open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof line, f)) {
		char a[NAME_LEN], b[NAME_LEN], c[NAME_LEN];
		long n;
		int cpu;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "thread %31s %31s %d", a, b, &cpu) == 3) {
			if (nthreads == MAX_THREADS || cpu < 0 || cpu >= MAX_CPUS)
				fail("bad thread line: %s", line);
			struct thread *t = &threads[nthreads++];
			strcpy(t->name, a);
			strcpy(t->proc, b);
			t->cpu = cpu;
			t->proc_index = -1;
			for (int i = 0; i < nprocs; i++)
				if (!strcmp(procs[i], b))
					t->proc_index = i;
			if (t->proc_index < 0) {
				if (nprocs == MAX_PROCS)
					fail("too many processes");
				strcpy(procs[nprocs], b);
				t->proc_index = nprocs++;
			}
		} else if (sscanf(line, "watch %d", &cpu) == 1 && cpu >= 0 && cpu < MAX_CPUS) {
			watched[cpu] = 1;
		} else {
			if (nsteps == MAX_STEPS)
				fail("too many steps");
			struct step *s = &steps[nsteps];
			int k = sscanf(line, "%31s %31s %31s %ld", a, b, c, &n);
			if (k < 2)
				fail("bad line: %s", line);
			s->thread = find_thread(b);
			if (!strcmp(a, "spin") && k == 2)
				s->op = OP_SPIN;
			else if (!strcmp(a, "block") && k == 2)
				s->op = OP_BLOCK;
			else if (!strcmp(a, "exit") && k == 2)
				s->op = OP_EXIT;
			else if (!strcmp(a, "call") && k == 3)
				s->op = OP_CALL, s->cmd = atoi(c);
			else if (!strcmp(a, "measure") && k == 4 && n > 0)
				s->op = OP_MEASURE, s->cmd = atoi(c), s->count = n;
			else
				fail("bad line: %s", line);
			nsteps++;
		}
	}
	fclose(f);
	if (!nthreads || !nsteps)
		fail("the script has no thread or no step");
}

/* --- the threads -------------------------------------------------------------------------------- */

static void ack(struct slot *s, int seq)
{
	__atomic_store_n(&s->ack, seq, __ATOMIC_RELEASE);
	futex(&s->ack, FUTEX_WAKE, 1, NULL);
}

static void *thread_main(void *arg)
{
	struct slot *s = arg;
	int seen = 0, spinning = 0;

	s->tid = (int)syscall(SYS_gettid);
	ack(s, 0);
	for (;;) {
		int seq;
		if (spinning) {
			while ((seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE)) == seen)
				__builtin_ia32_pause();   /* user mode, no system call */
		} else {
			while ((seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE)) == seen)
				futex(&s->seq, FUTEX_WAIT, seen, NULL);
		}
		seen = seq;
		switch (s->op) {
		case OP_SPIN:
			spinning = 1;
			break;
		case OP_BLOCK:
			spinning = 0;
			break;
		case OP_CALL:
			s->ret = membarrier(s->cmd);
			break;
		case OP_MEASURE: {
			long r = 0;
			for (long i = 0; i < s->count; i++) {
				long x = membarrier(s->cmd);
				if (x && !r)
					r = x;
			}
			s->ret = r;
			break;
		}
		case OP_EXIT:
			ack(s, seq);
			pthread_exit(NULL);
		}
		ack(s, seq);
	}
	return NULL;
}

static void child(int p)
{
	pthread_t tid;
	cpu_set_t set;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		_exit(4);
	if (getppid() == 1)
		_exit(4);
	for (int i = 0; i < nthreads; i++) {
		if (threads[i].proc_index != p)
			continue;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		CPU_ZERO(&set);
		CPU_SET(threads[i].cpu, &set);
		if (pthread_attr_setaffinity_np(&attr, sizeof set, &set) ||
		    pthread_create(&tid, &attr, thread_main, &slots[i]))
			_exit(5);
	}
	/* The main thread leaves, so that mm_users counts the script's threads only. */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof set, &set);
	pthread_exit(NULL);
}

/* --- observing the machine ---------------------------------------------------------------------- */

static int ncpus;

static void read_cal(long *cal)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[8192];
	memset(cal, 0, sizeof(long) * MAX_CPUS);
	if (!f)
		fail("cannot read /proc/interrupts: %s", strerror(errno));
	if (!fgets(line, sizeof line, f))
		fail("empty /proc/interrupts");
	ncpus = 0;
	for (char *p = line; (p = strstr(p, "CPU")); p += 3)
		ncpus++;
	while (fgets(line, sizeof line, f)) {
		char *p = line;
		while (*p == ' ')
			p++;
		if (strncmp(p, "CAL:", 4))
			continue;
		p += 4;
		for (int c = 0; c < ncpus && c < MAX_CPUS; c++)
			cal[c] = strtol(p, &p, 10);
		fclose(f);
		return;
	}
	fclose(f);
	fail("/proc/interrupts has no CAL row");
}

static long pcount_of(int pid, int tid, long *runtime_us)
{
	char path[128];
	unsigned long long run, delay, count;
	FILE *f;
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", pid, tid);
	else
		snprintf(path, sizeof path, "/proc/%d/schedstat", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	int ok = fscanf(f, "%llu %llu %llu", &run, &delay, &count) == 3;
	fclose(f);
	if (runtime_us)
		*runtime_us = ok ? (long)(run / 1000) : -1;
	return ok ? (long)count : -1;
}

struct other { int tid, cpu, kthread; long pcount, migrations; char comm[20]; };

/* se.nr_migrations of a task (/proc/PID/task/TID/sched), or -1 when the kernel does not say. */
static long migrations_of(int pid, int tid)
{
	char path[128], line[256];
	long n = -1;
	snprintf(path, sizeof path, "/proc/%d/task/%d/sched", pid, tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "se.nr_migrations", 16)) {
			char *colon = strchr(line, ':');
			n = colon ? atol(colon + 1) : -1;
			break;
		}
	fclose(f);
	return n;
}
static struct other before[MAX_TASKS], after[MAX_TASKS];

/* The last pid the kernel allocated (/proc/loadavg): tasks that start and end between two scans show here. */
static long last_pid(void)
{
	long pid = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%*s %*s %*s %*s %ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* Every task outside the probe (kernel threads flagged): its pcount and the CPU it last ran on. */
static int scan_others(struct other *o)
{
	int n = 0;
	DIR *proc = opendir("/proc");
	struct dirent *pe, *te;
	if (!proc)
		fail("cannot read /proc");
	while ((pe = readdir(proc)) && n < MAX_TASKS) {
		int pid = atoi(pe->d_name), ours = pid == getpid();
		if (pid <= 0)
			continue;
		for (int i = 0; i < nprocs; i++)
			ours |= children[i] == pid;
		if (ours)
			continue;
		char path[128];
		snprintf(path, sizeof path, "/proc/%d/task", pid);
		DIR *task = opendir(path);
		if (!task)
			continue;
		while ((te = readdir(task)) && n < MAX_TASKS) {
			int tid = atoi(te->d_name);
			char buf[1024], comm[20] = "?";
			unsigned long flags = 0;
			int cpu = -1;
			if (tid <= 0)
				continue;
			snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
			FILE *f = fopen(path, "r");
			if (!f)
				continue;
			size_t len = fread(buf, 1, sizeof buf - 1, f);
			fclose(f);
			buf[len] = 0;
			char *open = strchr(buf, '('), *close = strrchr(buf, ')');
			if (!open || !close)
				continue;
			snprintf(comm, sizeof comm, "%.*s", (int)(close - open - 1), open + 1);
			/* after ") ": field 3 is the state; flags is field 9, processor field 39 */
			char *p = close + 2;
			for (int field = 3; field <= 39 && *p; field++) {
				if (field == 9)
					flags = strtoul(p, NULL, 10);
				if (field == 39)
					cpu = atoi(p);
				while (*p && *p != ' ')
					p++;
				while (*p == ' ')
					p++;
			}
			o[n].kthread = !!(flags & PF_KTHREAD);
			o[n].tid = tid;
			o[n].cpu = cpu;
			o[n].pcount = pcount_of(pid, tid, NULL);
			o[n].migrations = o[n].kthread ? 0 : migrations_of(pid, tid);
			strcpy(o[n].comm, comm);
			n++;
		}
		closedir(task);
	}
	closedir(proc);
	return n;
}

static char task_state(int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t len = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[len] = 0;
	char *close = strrchr(buf, ')');
	return close && close[1] ? close[2] : '?';
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* --- the controller ----------------------------------------------------------------------------- */

static void wait_ack(struct slot *s, int seq, const char *what)
{
	struct timespec ts = {1, 0};
	for (int tries = 0; __atomic_load_n(&s->ack, __ATOMIC_ACQUIRE) != seq; tries++) {
		if (tries > 30)
			fail("%s did not answer", what);
		futex(&s->ack, FUTEX_WAIT, s->ack, &ts);
	}
}

static void post(int i, enum op op, int cmd, long count)
{
	struct slot *s = &slots[i];
	s->op = op;
	s->cmd = cmd;
	s->count = count;
	int seq = s->seq + 1;
	__atomic_store_n(&s->seq, seq, __ATOMIC_RELEASE);
	futex(&s->seq, FUTEX_WAKE, 1, NULL);
	wait_ack(s, seq, threads[i].name);
}

int main(int argc, char **argv)
{
	cpu_set_t set;
	long cal0[MAX_CPUS], cal1[MAX_CPUS], pc0[MAX_THREADS], pc1[MAX_THREADS];
	long rt0[MAX_THREADS], rt1[MAX_THREADS];
	struct timespec w0, w1;

	out_cap = 1 << 16;
	out = malloc(out_cap);
	if (!out)
		return 3;
	if (argc != 2)
		fail("usage: probe_worker SCRIPT");
	parse(argv[1]);
	signal(SIGALRM, on_alarm);
	alarm(120);
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof set, &set))
		fail("cannot pin the controller to CPU 0: %s", strerror(errno));
	for (int i = 0; i < nthreads; i++)
		if (threads[i].cpu >= sysconf(_SC_NPROCESSORS_ONLN))
			fail("thread %s wants CPU %d, which is not online", threads[i].name, threads[i].cpu);
	slots = mmap(NULL, sizeof(struct slot) * MAX_THREADS, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	memset((void *)slots, 0, sizeof(struct slot) * MAX_THREADS);
	for (int i = 0; i < MAX_THREADS; i++)
		slots[i].ack = -1;
	fflush(stdout);
	for (int p = 0; p < nprocs; p++) {
		children[p] = fork();
		if (children[p] < 0)
			fail("fork: %s", strerror(errno));
		if (children[p] == 0)
			child(p);
	}
	for (int i = 0; i < nthreads; i++)
		wait_ack(&slots[i], 0, threads[i].name);
	for (int i = 0; i < nthreads; i++)   /* each thread is asleep in futex_wait before the script starts */
		for (int tries = 0; task_state(slots[i].tid) != 'S'; tries++) {
			if (tries > 5000)
				fail("thread %s did not go to sleep", threads[i].name);
			sleep_us(200);
		}

	emit("{\"steps\": [");
	long pid0 = last_pid(), pid1;
	int nb = scan_others(before), na;
	for (int i = 0; i < nthreads; i++)
		pc0[i] = pcount_of(0, slots[i].tid, NULL);
	for (int k = 0; k < nsteps; k++) {
		struct step *st = &steps[k];
		struct slot *s = &slots[st->thread];
		for (int i = 0; i < nthreads; i++)
			pcount_of(0, slots[i].tid, &rt0[i]);
		read_cal(cal0);
		clock_gettime(CLOCK_MONOTONIC, &w0);
		post(st->thread, st->op, st->cmd, st->count);
		clock_gettime(CLOCK_MONOTONIC, &w1);
		read_cal(cal1);
		for (int i = 0; i < nthreads; i++)   /* runtime while the command ran (measure: the call loop) */
			pcount_of(0, slots[i].tid, &rt1[i]);
		if (st->op == OP_BLOCK)       /* acked before it slept: wait until it does */
			for (int tries = 0; task_state(s->tid) != 'S'; tries++) {
				if (tries > 10000)
					fail("thread %s did not block", threads[st->thread].name);
				sleep_us(100);
			}
		if (st->op == OP_EXIT)        /* wait until it is gone */
			for (int tries = 0; task_state(s->tid); tries++) {
				if (tries > 10000)
					fail("thread %s did not exit", threads[st->thread].name);
				sleep_us(100);
			}
		for (int i = 0; i < nthreads; i++)
			pc1[i] = pcount_of(0, slots[i].tid, NULL);
		pid1 = last_pid();
		na = scan_others(after);
		emit("%s{\"op\": \"%s\", \"thread\": ", k ? ", " : "", op_names[st->op]);
		json_string(threads[st->thread].name);
		emit(", \"ret\": %ld, \"cal\": [", (st->op == OP_CALL || st->op == OP_MEASURE) ? s->ret : 0L);
		for (int c = 0; c < ncpus; c++)
			emit("%s%ld", c ? ", " : "", cal1[c] - cal0[c]);
		emit("], \"switches\": {");
		for (int i = 0; i < nthreads; i++) {
			emit("%s", i ? ", " : "");
			json_string(threads[i].name);
			emit(": %ld", pc0[i] < 0 || pc1[i] < 0 ? -1L : pc1[i] - pc0[i]);
		}
		emit("}, \"wall_us\": %ld, \"runtime_us\": {",
		     (long)((w1.tv_sec - w0.tv_sec) * 1000000 + (w1.tv_nsec - w0.tv_nsec) / 1000));
		for (int i = 0; i < nthreads; i++) {
			emit("%s", i ? ", " : "");
			json_string(threads[i].name);
			emit(": %ld", rt0[i] < 0 || rt1[i] < 0 ? -1L : rt1[i] - rt0[i]);
		}
		emit("}, \"others\": [");
		int first = 1;
		long born = 0;   /* tasks allocated in this window that are still there */
		for (int a = 0; a < na; a++) {
			int b = 0;
			while (b < nb && before[b].tid != after[a].tid)
				b++;
			int fresh = b == nb;
			born += fresh && after[a].tid > pid0 && after[a].tid <= pid1;
			if (after[a].kthread || (!fresh && before[b].pcount == after[a].pcount))
				continue;
			int cpu_a = after[a].cpu, cpu_b = fresh ? -1 : before[b].cpu;
			/* a task that migrated in the window may have run on a watched CPU and left it again */
			int moved = after[a].migrations < 0 || (fresh ? after[a].migrations > 0
			                                              : before[b].migrations != after[a].migrations);
			if (!((cpu_a >= 0 && cpu_a < MAX_CPUS && watched[cpu_a]) ||
			      (cpu_b >= 0 && cpu_b < MAX_CPUS && watched[cpu_b]) || moved))
				continue;
			char desc[80];
			snprintf(desc, sizeof desc, "%d %s@%d%s", after[a].tid, after[a].comm, cpu_a,
			         moved ? " (migrated)" : "");
			emit("%s", first ? "" : ", ");
			json_string(desc);
			first = 0;
		}
		if (pid1 < pid0 || pid1 - pid0 > born) {   /* started and ended unseen: where they ran is unknown */
			emit("%s\"%ld short-lived task(s), CPU unknown\"", first ? "" : ", ",
			     pid1 < pid0 ? 1L : pid1 - pid0 - born);
			first = 0;
		}
		emit("]}");
		memcpy(before, after, sizeof(struct other) * na);   /* the next step's window starts here */
		nb = na;
		pid0 = pid1;
		memcpy(pc0, pc1, sizeof pc0);
	}
	emit("]}\n");
	kill_children();
	fwrite(out, 1, out_len, stdout);
	return 0;
}
