/*
 * job-slurm-parse.c - the batch script and sbatch options coopd writes,
 * and the answers of squeue and scontrol it reads (job-slurm-parse.h).
 *
 * squeue's JSON changed shape across Slurm releases: 22.05 gives
 * job_state as a string and exit_code as a wait status; 23.02 and later
 * give job_state as an array of flags and exit_code as an object with
 * return_code and signal.  Both are read, so that coopd survives an
 * upgrade of the cluster (docs/slurm.md "Why the command-line tools").
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
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

static bool jget(struct json_object *o, const char *key, struct json_object **v)
{
	return json_object_object_get_ex(o, key, v) && *v != NULL;
}

/* 22.05: a wait status; 23.02+: {"return_code": N | {"number": N},
 * "signal": {"id": N} ...}. */
static void parse_exit(struct json_object *ec, struct slurm_job_info *j)
{
	struct json_object *v, *w;

	if (json_object_is_type(ec, json_type_int)) {
		int st = json_object_get_int(ec);

		if (WIFSIGNALED(st)) {
			j->term_signal = WTERMSIG(st);
			j->exit_code = -1;
		} else {
			j->exit_code = WEXITSTATUS(st);
		}
		return;
	}
	if (!json_object_is_type(ec, json_type_object))
		return;
	if (jget(ec, "signal", &v) && jget(v, "id", &w) &&
	    (json_object_is_type(w, json_type_int) ||
	     (json_object_is_type(w, json_type_object) && jget(w, "number", &w))) &&
	    json_object_get_int(w) > 0) {
		j->term_signal = json_object_get_int(w);
		j->exit_code = -1;
		return;
	}
	if (jget(ec, "return_code", &v)) {
		if (json_object_is_type(v, json_type_object) && jget(v, "number", &w))
			v = w;
		if (json_object_is_type(v, json_type_int))
			j->exit_code = json_object_get_int(v);
	}
}

int slurm_parse_squeue_json(const char *text, size_t len,
			    void (*fn)(const struct slurm_job_info *job, void *arg), void *arg)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	struct json_object *doc, *jobs;
	size_t n;
	int count = 0;

	if (!tok)
		return -ENOMEM;
	doc = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!doc || !jget(doc, "jobs", &jobs) || !json_object_is_type(jobs, json_type_array)) {
		json_object_put(doc);
		return -EINVAL;
	}
	n = json_object_array_length(jobs);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(jobs, i), *v;
		struct slurm_job_info j = {.exit_code = -1, .uid = UINT32_MAX};

		if (!json_object_is_type(o, json_type_object) || !jget(o, "job_id", &v) ||
		    !json_object_is_type(v, json_type_int) || json_object_get_int64(v) <= 0)
			continue;
		j.job_id = (uint64_t)json_object_get_int64(v);
		if (!jget(o, "job_state", &v))
			continue;
		if (json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
			v = json_object_array_get_idx(v, 0);
		if (!json_object_is_type(v, json_type_string))
			continue;
		copy_state(j.state, json_object_get_string(v));
		if (slurm_state_class(j.state) >= SLURM_CLASS_COMPLETED && jget(o, "exit_code", &v))
			parse_exit(v, &j);
		if (jget(o, "user_id", &v) && json_object_is_type(v, json_type_int))
			j.uid = (uint32_t)json_object_get_int64(v);
		if (jget(o, "name", &v) && json_object_is_type(v, json_type_string))
			snprintf(j.name, sizeof(j.name), "%s", json_object_get_string(v));
		fn(&j, arg);
		count++;
	}
	json_object_put(doc);
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
