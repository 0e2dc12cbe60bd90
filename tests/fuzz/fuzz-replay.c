/*
 * fuzz-replay.c - runs libFuzzer inputs through a harness without libFuzzer.
 *
 * Linked with tests/fuzz/fuzz-proto.c into tests/fuzz/fuzz-proto-replay,
 * a plain program that `make check` runs (so with ASan and UBSan in the
 * sanitized pass, built by the usual compiler, no clang needed).  Without
 * arguments it replays every file of $top_srcdir/tests/fuzz/corpus-proto
 * (the committed seeds) and $top_srcdir/tests/fuzz/regress-proto (every
 * input that ever crashed the harness: a crash found by `make fuzz` is
 * copied there, so it is a regression test from then on); with arguments,
 * the files or directories named.  The harness aborts on a broken promise,
 * so a failure is a crash of this program.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap ? cap * 2 : 4096);

			if (!nb) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* An exact-size copy, so that ASan sees reads past the input's end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, len);
		free(buf);
		printf("replay %s (%zu bytes)\n", path, len);
		fflush(stdout);
		(void)LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 1;
}

/* Replays path (a file, or every regular file of a directory, sorted);
 * returns how many inputs ran, or -1. */
static int replay(const char *path, int must_exist)
{
	struct dirent **ents;
	struct stat st;
	int n, total = 0;

	if (stat(path, &st) < 0) {
		if (!must_exist && errno == ENOENT)
			return 0;
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "fuzz-replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];
		struct stat sst;

		snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && stat(sub, &sst) == 0 && S_ISREG(sst.st_mode)) {
			if (replay_file(sub) < 0)
				total = -1;
			else if (total >= 0)
				total++;
		}
		free(ents[i]);
	}
	free(ents);
	return total;
}

int main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char corpus[4096], regress[4096];
	int n, r, total = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			if ((r = replay(argv[i], 1)) < 0)
				return 1;
			total += r;
		}
		printf("fuzz-replay: %d input(s) replayed\n", total);
		return 0;
	}
	if (!top)
		top = TOP_SRCDIR;
	snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus-proto", top);
	snprintf(regress, sizeof(regress), "%s/tests/fuzz/regress-proto", top);
	if ((n = replay(corpus, 1)) < 0 || (r = replay(regress, 0)) < 0)
		return 1;
	if (n == 0) {
		fprintf(stderr, "fuzz-replay: no seed inputs in %s\n", corpus);
		return 1;
	}
	printf("fuzz-replay: %d seed input(s) and %d regression input(s) replayed\n", n, r);
	return 0;
}
