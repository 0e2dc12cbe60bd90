/*
 * test-proto.h - helpers shared by the proto suites that read the committed
 * graph corpus (tests/data): where the source tree is, reading a whole file,
 * and sorting file names so that runs are reproducible.
 */
#ifndef COOPD_TEST_PROTO_H
#define COOPD_TEST_PROTO_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s && *s ? s : PROTO_TEST_SRCDIR;
}

static inline char *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

static inline int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

#endif
