/*
 * job-slurm-parse.c - the batch script and sbatch options coopd writes,
 * and the answers of squeue and scontrol it reads (job-slurm-parse.h).
 *
 * squeue is asked for four fields as '|'-ended text (SLURM_SQUEUE_FORMAT),
 * not --json: --json prints some 5 KB per job, and building a json-c tree
 * of it at every poll was most of coopd's CPU per Slurm job (docs/slurm.md
 * "Cost").  The text is read in one pass and refused whole, with the line
 * and the reason, when any line is not exactly that form.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "job-slurm-parse.h"

enum slurm_class slurm_state_class(const char *s)
{
	static const char *const pending[] = {"PENDING",      "CONFIGURING",  "REQUEUED",
					      "REQUEUE_HOLD", "REQUEUE_FED",  "RESV_DEL_HOLD",
					      "SPECIAL_EXIT", "REVOKED_NONE", NULL};
	static const char *const running[] = {"RUNNING",  "COMPLETING", "SUSPENDED", "STOPPED",
					      "RESIZING", "SIGNALING",  "STAGE_OUT", NULL};

	for (size_t i = 0; pending[i]; i++)
		if (strcmp(s, pending[i]) == 0)
			return SLURM_CLASS_PENDING;
	for (size_t i = 0; running[i]; i++)
		if (strcmp(s, running[i]) == 0)
			return SLURM_CLASS_RUNNING;
	if (strcmp(s, "COMPLETED") == 0)
		return SLURM_CLASS_COMPLETED;
	if (strcmp(s, "CANCELLED") == 0)
		return SLURM_CLASS_CANCELLED;
	/* FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, PREEMPTED,
	 * DEADLINE and whatever a later Slurm adds: a failure. */
	return SLURM_CLASS_FAILED;
}

void slurm_sh_quote(struct strbuf *sb, const char *s)
{
	sb_putc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sb_puts(sb, "'\\''");
		else
			sb_putc(sb, *s);
	}
	sb_putc(sb, '\'');
}

static bool sh_name_ok(const char *kv, size_t len)
{
	if (len == 0 || (kv[0] >= '0' && kv[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = kv[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

int slurm_script_build(struct strbuf *sb, char *const *envp, char *const *argv, size_t *bad)
{
	sb_puts(sb, "#!/bin/sh\n"
		    "# Written by coopd: the job's environment, then exactly its argv.\n");
	for (size_t i = 0; envp[i]; i++) {
		size_t klen = strcspn(envp[i], "=");

		if (!sh_name_ok(envp[i], klen) || envp[i][klen] != '=') {
			if (bad)
				*bad = i;
			return -EINVAL;
		}
		sb_puts(sb, "export ");
		sb_put(sb, envp[i], klen + 1);
		slurm_sh_quote(sb, envp[i] + klen + 1);
		sb_putc(sb, '\n');
	}
	sb_puts(sb, "exec");
	for (size_t i = 0; argv[i]; i++) {
		sb_putc(sb, ' ');
		/* "--" is not needed: exec takes no options in POSIX sh, and
		 * a quoted word is never an assignment or a redirection. */
		slurm_sh_quote(sb, argv[i]);
	}
	sb_putc(sb, '\n');
	return sb->oom ? -ENOMEM : 0;
}

static int add_opt(char **argv, size_t *n, const char *name, const char *v)
{
	size_t len = strlen(name) + strlen(v) + 4;
	char *p = malloc(len);

	if (!p)
		return -ENOMEM;
	snprintf(p, len, "--%s=%s", name, v);
	argv[(*n)++] = p;
	return 0;
}

int slurm_sbatch_options(const struct proto_slurm *o, char **argv, size_t *n)
{
	char num[32];
	int r = 0;

	if (!o)
		return 0;
	if (o->partition)
		r = add_opt(argv, n, "partition", o->partition);
	if (r == 0 && o->account)
		r = add_opt(argv, n, "account", o->account);
	if (r == 0 && o->qos)
		r = add_opt(argv, n, "qos", o->qos);
	if (r == 0 && o->time)
		r = add_opt(argv, n, "time", o->time);
	if (r == 0 && o->mem)
		r = add_opt(argv, n, "mem", o->mem);
	if (r == 0 && o->gres)
		r = add_opt(argv, n, "gres", o->gres);
	if (r == 0 && o->constraint)
		r = add_opt(argv, n, "constraint", o->constraint);
	if (r == 0 && o->cpus_per_task > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)o->cpus_per_task);
		r = add_opt(argv, n, "cpus-per-task", num);
	}
	if (r == 0 && o->nodes > 0) {
		snprintf(num, sizeof(num), "%lld", (long long)o->nodes);
		r = add_opt(argv, n, "nodes", num);
	}
	return r;
}

static int parse_id(const char *s, const char **end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p == s || v == 0)
		return -EINVAL;
	*end = p;
	*ret = v;
	return 0;
}

int slurm_parse_sbatch(const char *out, uint64_t *ret_id)
{
	const char *end;

	while (*out == ' ' || *out == '\n')
		out++;
	if (parse_id(out, &end, ret_id) < 0)
		return -EINVAL;
	return *end == '\0' || *end == '\n' || *end == ';' ? 0 : -EINVAL;
}

static void copy_state(char *dst, const char *s)
{
	size_t i = 0;

	/* Upper case letters and '_' only: a state we quote in an error. */
	for (; s[i] && i + 1 < SLURM_STATE_MAX; i++)
		dst[i] = (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ? s[i] : '?';
	dst[i] = '\0';
}

/* An unsigned decimal of at most max; *p moves past it. */
static bool parse_num(const char **p, const char *end, uint64_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	while (s < end && *s >= '0' && *s <= '9') {
		uint64_t d = (uint64_t)(*s - '0');

		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		s++;
	}
	if (s == *p)
		return false;
	*p = s;
	*ret = v;
	return true;
}

/* One line "ID|STATE|EXIT|UID|\n" (slurm_parse_squeue's format).  Returns
 * NULL and *j filled, or what is wrong with it; *p moves past the line. */
static const char *squeue_line(const char **p, const char *end, struct slurm_job_info *j)
{
	const char *s = *p;
	uint64_t v;
	size_t n = 0;

	*j = (struct slurm_job_info){.exit_code = -1, .uid = UINT32_MAX};
	if (!parse_num(&s, end, UINT64_MAX, &v) || v == 0)
		return "no job id";
	j->job_id = v;
	if (s == end || *s++ != '|')
		return "no '|' after the job id";
	for (; s < end && ((*s >= 'A' && *s <= 'Z') || *s == '_'); s++) {
		if (n + 1 >= SLURM_STATE_MAX)
			return "job state too long";
		j->state[n++] = *s;
	}
	j->state[n] = '\0';
	if (n == 0)
		return "no job state (A-Z and _)";
	if (s == end || *s++ != '|')
		return "no '|' after the job state";
	/* exit_code is a wait status (22.05), read only once the job ended. */
	if (!parse_num(&s, end, 0xffff, &v))
		return "no exit code (a wait status, 0-65535)";
	if (slurm_state_class(j->state) >= SLURM_CLASS_COMPLETED) {
		int st = (int)v;

		if (WIFSIGNALED(st)) {
			j->term_signal = WTERMSIG(st);
		} else {
			j->exit_code = WEXITSTATUS(st);
		}
	}
	if (s == end || *s++ != '|')
		return "no '|' after the exit code";
	if (!parse_num(&s, end, UINT32_MAX - 1, &v))
		return "no user id";
	j->uid = (uint32_t)v;
	if (end - s < 2 || s[0] != '|' || s[1] != '\n')
		return "no '|' and end of line after the user id";
	*p = s + 2;
	return NULL;
}

int slurm_parse_squeue(const char *text, size_t len,
		       void (*fn)(const struct slurm_job_info *job, void *arg), void *arg,
		       struct slurm_parse_error *err)
{
	const char *end = text + len;
	struct slurm_job_info j;
	int count = 0;

	/* Checked whole before fn sees a job: an answer is taken or left
	 * as one, never half applied. */
	for (const char *p = text; p < end; count++) {
		const char *why = squeue_line(&p, end, &j);

		if (why) {
			if (err) {
				err->line = (unsigned)count + 1;
				err->reason = why;
			}
			return -EINVAL;
		}
		if (count == INT32_MAX - 1) {
			if (err) {
				err->line = (unsigned)count + 1;
				err->reason = "too many lines";
			}
			return -EINVAL;
		}
	}
	if (fn)
		for (const char *p = text; p < end;) {
			squeue_line(&p, end, &j);
			fn(&j, arg);
		}
	return count;
}

/* The value of " Key=" in an scontrol -o line, up to the next space. */
static bool scontrol_value(const char *text, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	for (const char *p = text; (p = strstr(p, key)); p += klen) {
		size_t vlen;

		if ((p != text && p[-1] != ' ') || p[klen] != '=')
			continue;
		p += klen + 1;
		vlen = strcspn(p, " \n");
		if (vlen >= size)
			vlen = size - 1;
		memcpy(buf, p, vlen);
		buf[vlen] = '\0';
		return true;
	}
	return false;
}

int slurm_parse_scontrol(const char *text, struct slurm_job_info *ret)
{
	struct slurm_job_info j = {.exit_code = -1, .uid = UINT32_MAX};
	char buf[64];
	const char *end;
	int code, sig;

	if (!scontrol_value(text, "JobId", buf, sizeof(buf)) || parse_id(buf, &end, &j.job_id) < 0)
		return -EINVAL;
	if (!scontrol_value(text, "JobState", buf, sizeof(buf)) || !buf[0])
		return -EINVAL;
	copy_state(j.state, buf);
	/* ExitCode=EXIT:SIGNAL */
	if (slurm_state_class(j.state) >= SLURM_CLASS_COMPLETED &&
	    scontrol_value(text, "ExitCode", buf, sizeof(buf)) &&
	    sscanf(buf, "%d:%d", &code, &sig) == 2) {
		if (sig > 0)
			j.term_signal = sig;
		else
			j.exit_code = code;
	}
	/* UserId=name(uid) */
	if (scontrol_value(text, "UserId", buf, sizeof(buf))) {
		const char *paren = strchr(buf, '(');
		unsigned long uid;

		if (paren && sscanf(paren + 1, "%lu)", &uid) == 1)
			j.uid = (uint32_t)uid;
	}
	if (scontrol_value(text, "JobName", buf, sizeof(buf)))
		snprintf(j.name, sizeof(j.name), "%s", buf);
	*ret = j;
	return 0;
}
