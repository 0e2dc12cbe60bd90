/*
 * proto-jtree.c - the compact JSON tree of proto-jtree.h: an iterative,
 * strict parser decoding strings in place, an arena for the tree, a
 * writer, and the bridges to json-c (copies of small parts; a wrapper
 * object for a whole document).
 *
 * Memory: one copy of the text, plus 16 bytes per value and 24 per object
 * member in arena blocks of at least 1 MiB (mmap'ed by malloc, so given
 * back to the system when the document is freed), plus, while parsing,
 * a stack holding the members of the containers still open.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto-jtree.h"

#define ARENA_BLOCK (1u << 20)
/* Objects with more members are checked for repeated keys by sorting, and
 * a repeat is refused instead of merged (json-c's verdict then applies). */
#define SMALL_OBJECT 64

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct jtree_doc {
	char *text;
	struct arena_block *blocks;
	struct jtree root;
};

static void *arena_alloc(struct jtree_doc *doc, size_t size)
{
	struct arena_block *b = doc->blocks;

	size = (size + 7) & ~(size_t)7;
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = doc->blocks;
		doc->blocks = b;
	}
	b->used += size;
	return (char *)b->data + b->used - size;
}

void jtree_doc_free(struct jtree_doc *doc)
{
	if (!doc)
		return;
	while (doc->blocks) {
		struct arena_block *b = doc->blocks;

		doc->blocks = b->next;
		free(b);
	}
	free(doc->text);
	free(doc);
}

const struct jtree *jtree_root(const struct jtree_doc *doc)
{
	return &doc->root;
}

/*
 * Parsing.
 */

struct frame {
	uint8_t type;    /* JTREE_ARRAY or JTREE_OBJECT */
	const char *key; /* object: key of the member being read */
	size_t base;     /* first of its members on the stack */
};

struct parser {
	struct jtree_doc *doc;
	char *p, *end;
	struct jtree_member *stack; /* members (or items: key NULL) of open containers */
	size_t n, cap;
	struct frame *frames;
	size_t depth, max_frames;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int push_member(struct parser *ps, const char *key, const struct jtree *v)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 256;
		struct jtree_member *s = realloc(ps->stack, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		ps->stack = s;
		ps->cap = cap;
	}
	ps->stack[ps->n].key = key;
	ps->stack[ps->n].val = *v;
	ps->n++;
	return 0;
}

static unsigned hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

static bool read_hex4(const char *p, const char *end, unsigned *ret)
{
	unsigned v = 0;

	if (end - p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		unsigned h = hexval(p[i]);

		if (h > 15)
			return false;
		v = v << 4 | h;
	}
	*ret = v;
	return true;
}

static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if none:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Reads the string at ps->p (its opening quote) and decodes it in place:
 * escapes only ever shrink, so the result and its NUL fit before the
 * closing quote. */
static int read_string(struct parser *ps, const char **ret, size_t *ret_len)
{
	char *start = ps->p + 1, *o = start, *p = start;

	for (;;) {
		unsigned char c;

		if (p >= ps->end)
			return -EINVAL;
		c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c < 0x20)
			return -EINVAL;
		if (c >= 0x80) {
			size_t n =
				utf8_len((const unsigned char *)p, (const unsigned char *)ps->end);

			if (n == 0)
				return -EINVAL;
			memmove(o, p, n);
			o += n;
			p += n;
			continue;
		}
		if (c != '\\') {
			*o++ = (char)c;
			p++;
			continue;
		}
		if (p + 1 >= ps->end)
			return -EINVAL;
		switch (p[1]) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '/':
			*o++ = '/';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'u': {
			unsigned cp, lo;

			if (!read_hex4(p + 2, ps->end, &cp))
				return -EINVAL;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -EINVAL; /* lone low surrogate */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
				    !read_hex4(p + 8, ps->end, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return -EINVAL;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			o = put_utf8(o, cp);
			p += 6;
			continue;
		}
		default:
			return -EINVAL;
		}
		p += 2;
	}
	*o = '\0';
	*ret = start;
	*ret_len = (size_t)(o - start);
	ps->p = p + 1;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int read_number(struct parser *ps, struct jtree *v)
{
	char *p = ps->p, *start = p;
	bool neg = false, integer = true;
	uint64_t u = 0;

	if (*p == '-')
		neg = true, p++;
	if (p >= ps->end || !is_digit(*p))
		return -EINVAL;
	if (*p == '0') {
		p++;
	} else {
		while (p < ps->end && is_digit(*p)) {
			unsigned d = (unsigned)(*p - '0');

			if (u > (UINT64_MAX - d) / 10)
				return -EINVAL; /* beyond uint64: json-c decides */
			u = u * 10 + d;
			p++;
		}
	}
	if (p < ps->end && *p == '.') {
		integer = false;
		p++;
		if (p >= ps->end || !is_digit(*p))
			return -EINVAL;
		while (p < ps->end && is_digit(*p))
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		integer = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || !is_digit(*p))
			return -EINVAL;
		while (p < ps->end && is_digit(*p))
			p++;
	}
	if (p - start > 64)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	if (!integer) {
		v->type = JTREE_DOUBLE;
		v->u.s = start;
		v->len = (uint32_t)(p - start);
	} else if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return -EINVAL;
		v->type = JTREE_INT;
		v->u.i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		v->type = JTREE_INT;
		v->u.u = u;
		if (u > (uint64_t)INT64_MAX)
			v->flags = JTREE_F_UINT;
	}
	ps->p = p;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Merges repeated keys of the object members stack[base..n) the way
 * json-c does (last value, first place); refuses them in large objects. */
static int merge_keys(struct parser *ps, size_t base)
{
	size_t count = ps->n - base, w = base;

	if (count <= 1)
		return 0;
	if (count > SMALL_OBJECT) {
		const char **keys = malloc(count * sizeof(*keys));
		int r = 0;

		if (!keys)
			return -ENOMEM;
		for (size_t i = 0; i < count; i++)
			keys[i] = ps->stack[base + i].key;
		qsort(keys, count, sizeof(*keys), key_cmp);
		for (size_t i = 1; i < count && r == 0; i++)
			if (strcmp(keys[i - 1], keys[i]) == 0)
				r = -EINVAL;
		free(keys);
		return r;
	}
	for (size_t i = base; i < ps->n; i++) {
		size_t j;

		for (j = base; j < w; j++)
			if (strcmp(ps->stack[j].key, ps->stack[i].key) == 0)
				break;
		if (j < w)
			ps->stack[j].val = ps->stack[i].val;
		else
			ps->stack[w++] = ps->stack[i];
	}
	ps->n = w;
	return 0;
}

/* Pops the innermost container's members into the arena as value v. */
static int close_container(struct parser *ps, struct jtree *v)
{
	struct frame *f = &ps->frames[--ps->depth];
	size_t count;
	int r;

	memset(v, 0, sizeof(*v));
	v->type = f->type;
	if (f->type == JTREE_OBJECT && (r = merge_keys(ps, f->base)) < 0)
		return r;
	count = ps->n - f->base;
	if (count > UINT32_MAX)
		return -EINVAL;
	v->len = (uint32_t)count;
	if (count == 0)
		return 0;
	if (f->type == JTREE_OBJECT) {
		struct jtree_member *m = arena_alloc(ps->doc, count * sizeof(*m));

		if (!m)
			return -ENOMEM;
		memcpy(m, ps->stack + f->base, count * sizeof(*m));
		v->u.members = m;
	} else {
		struct jtree *items = arena_alloc(ps->doc, count * sizeof(*items));

		if (!items)
			return -ENOMEM;
		for (size_t i = 0; i < count; i++)
			items[i] = ps->stack[f->base + i].val;
		v->u.items = items;
	}
	ps->n = f->base;
	return 0;
}

static int open_container(struct parser *ps, uint8_t type)
{
	if (ps->depth + 1 >= ps->max_frames)
		return -EINVAL; /* too deep: json-c reports it */
	ps->frames[ps->depth].type = type;
	ps->frames[ps->depth].key = NULL;
	ps->frames[ps->depth].base = ps->n;
	ps->depth++;
	ps->p++;
	return 0;
}

static bool literal(struct parser *ps, const char *word, size_t len)
{
	if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
		return false;
	ps->p += len;
	return true;
}

/* Reads an object key and its colon into the innermost frame. */
static int read_key(struct parser *ps)
{
	const char *key;
	size_t klen;
	int r;

	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '"')
		return -EINVAL;
	if ((r = read_string(ps, &key, &klen)) < 0)
		return r;
	if (strlen(key) != klen)
		return -EINVAL; /* NUL in a key */
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != ':')
		return -EINVAL;
	ps->p++;
	ps->frames[ps->depth - 1].key = key;
	return 0;
}

static int parse(struct parser *ps)
{
	struct jtree v;
	int r;

	for (;;) {
		/* A value starts here. */
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EINVAL;
		memset(&v, 0, sizeof(v));
		switch (*ps->p) {
		case '{':
			if ((r = open_container(ps, JTREE_OBJECT)) < 0)
				return r;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == '}') {
				ps->p++;
				if ((r = close_container(ps, &v)) < 0)
					return r;
				break;
			}
			if ((r = read_key(ps)) < 0)
				return r;
			continue;
		case '[':
			if ((r = open_container(ps, JTREE_ARRAY)) < 0)
				return r;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
				if ((r = close_container(ps, &v)) < 0)
					return r;
				break;
			}
			continue;
		case '"': {
			const char *s;
			size_t len;

			if ((r = read_string(ps, &s, &len)) < 0)
				return r;
			if (len > UINT32_MAX)
				return -EINVAL;
			v.type = JTREE_STRING;
			v.u.s = s;
			v.len = (uint32_t)len;
			break;
		}
		case 't':
		case 'f':
			v.type = JTREE_BOOL;
			v.u.b = *ps->p == 't';
			if (!literal(ps, v.u.b ? "true" : "false", v.u.b ? 4 : 5))
				return -EINVAL;
			break;
		case 'n':
			if (!literal(ps, "null", 4))
				return -EINVAL;
			v.type = JTREE_NULL;
			break;
		default:
			if ((r = read_number(ps, &v)) < 0)
				return r;
			break;
		}
		/* A value is complete: hand it to its container, and close
		 * every container that ends right after it. */
		for (;;) {
			struct frame *f;

			if (ps->depth == 0) {
				skip_ws(ps);
				if (ps->p != ps->end)
					return -EINVAL;
				ps->doc->root = v;
				return 0;
			}
			f = &ps->frames[ps->depth - 1];
			if ((r = push_member(ps, f->key, &v)) < 0)
				return r;
			skip_ws(ps);
			if (ps->p >= ps->end)
				return -EINVAL;
			if (*ps->p == ',') {
				ps->p++;
				if (f->type == JTREE_OBJECT && (r = read_key(ps)) < 0)
					return r;
				break; /* the next value */
			}
			if (*ps->p != (f->type == JTREE_OBJECT ? '}' : ']'))
				return -EINVAL;
			ps->p++;
			if ((r = close_container(ps, &v)) < 0)
				return r;
		}
	}
}

int jtree_parse(const char *text, size_t len, unsigned max_depth, struct jtree_doc **ret)
{
	struct parser ps = {0};
	struct jtree_doc *doc;
	int r;

	if (max_depth < 2)
		return -EINVAL;
	doc = calloc(1, sizeof(*doc));
	if (!doc)
		return -ENOMEM;
	doc->text = malloc(len + 1);
	ps.frames = malloc(max_depth * sizeof(*ps.frames));
	if (!doc->text || !ps.frames) {
		r = -ENOMEM;
		goto fail;
	}
	memcpy(doc->text, text, len);
	doc->text[len] = '\0';
	ps.doc = doc;
	ps.p = doc->text;
	ps.end = doc->text + len;
	ps.max_frames = max_depth;
	r = parse(&ps);
	if (r < 0)
		goto fail;
	free(ps.stack);
	free(ps.frames);
	*ret = doc;
	return 0;
fail:
	free(ps.stack);
	free(ps.frames);
	jtree_doc_free(doc);
	return r;
}

const struct jtree *jtree_get(const struct jtree *obj, const char *key)
{
	if (!obj || obj->type != JTREE_OBJECT)
		return NULL;
	for (uint32_t i = 0; i < obj->len; i++)
		if (strcmp(obj->u.members[i].key, key) == 0)
			return &obj->u.members[i].val;
	return NULL;
}

/*
 * json-c copies.
 */

static int to_json(const struct jtree *v, struct json_object **ret)
{
	struct json_object *o = NULL;

	switch ((enum jtree_type)v->type) {
	case JTREE_NULL:
		*ret = NULL;
		return 0;
	case JTREE_BOOL:
		o = json_object_new_boolean(v->u.b);
		break;
	case JTREE_INT:
		o = v->flags & JTREE_F_UINT ? json_object_new_uint64(v->u.u)
					    : json_object_new_int64(v->u.i);
		break;
	case JTREE_DOUBLE: {
		char buf[80];

		memcpy(buf, v->u.s, v->len);
		buf[v->len] = '\0';
		o = json_object_new_double_s(strtod(buf, NULL), buf);
		break;
	}
	case JTREE_STRING:
		o = json_object_new_string_len(v->u.s, (int)v->len);
		break;
	case JTREE_ARRAY:
		o = json_object_new_array_ext((int)v->len);
		for (uint32_t i = 0; o && i < v->len; i++) {
			struct json_object *item;

			if (to_json(&v->u.items[i], &item) < 0 ||
			    json_object_array_add(o, item) < 0) {
				json_object_put(item);
				json_object_put(o);
				return -ENOMEM;
			}
		}
		break;
	case JTREE_OBJECT:
		o = json_object_new_object();
		for (uint32_t i = 0; o && i < v->len; i++) {
			struct json_object *val;

			if (to_json(&v->u.members[i].val, &val) < 0 ||
			    json_object_object_add(o, v->u.members[i].key, val) < 0) {
				json_object_put(val);
				json_object_put(o);
				return -ENOMEM;
			}
		}
		break;
	}
	if (!o)
		return -ENOMEM;
	*ret = o;
	return 0;
}

struct json_object *jtree_to_json(const struct jtree *v)
{
	struct json_object *o = NULL;

	if (to_json(v, &o) < 0)
		return NULL;
	return o;
}

/*
 * Writing.
 */

struct writer {
	int (*out)(void *ctx, const char *p, size_t len);
	void *ctx;
	char buf[8192];
	size_t n;
	int err;
};

static void w_flush(struct writer *w)
{
	if (w->n && !w->err) {
		int r = w->out(w->ctx, w->buf, w->n);

		if (r < 0)
			w->err = r;
	}
	w->n = 0;
}

static void w_put(struct writer *w, const char *p, size_t len)
{
	while (len > 0 && !w->err) {
		size_t k = sizeof(w->buf) - w->n;

		if (k == 0) {
			w_flush(w);
			continue;
		}
		if (k > len)
			k = len;
		memcpy(w->buf + w->n, p, k);
		w->n += k;
		p += k;
		len -= k;
	}
}

static void w_string(struct writer *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	w_put(w, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		w_put(w, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			w_put(w, esc, 2);
		} else {
			w_put(w, esc, 6);
		}
	}
	w_put(w, s + run, len - run);
	w_put(w, "\"", 1);
}

static void w_value(struct writer *w, const struct jtree *v)
{
	char num[32];
	int n;

	switch ((enum jtree_type)v->type) {
	case JTREE_NULL:
		w_put(w, "null", 4);
		break;
	case JTREE_BOOL:
		w_put(w, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
		break;
	case JTREE_INT:
		if (v->flags & JTREE_F_UINT)
			n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v->u.u);
		else
			n = snprintf(num, sizeof(num), "%lld", (long long)v->u.i);
		w_put(w, num, (size_t)n);
		break;
	case JTREE_DOUBLE:
		w_put(w, v->u.s, v->len);
		break;
	case JTREE_STRING:
		w_string(w, v->u.s, v->len);
		break;
	case JTREE_ARRAY:
		w_put(w, "[", 1);
		for (uint32_t i = 0; i < v->len; i++) {
			if (i)
				w_put(w, ",", 1);
			w_value(w, &v->u.items[i]);
		}
		w_put(w, "]", 1);
		break;
	case JTREE_OBJECT:
		w_put(w, "{", 1);
		for (uint32_t i = 0; i < v->len; i++) {
			const char *k = v->u.members[i].key;

			if (i)
				w_put(w, ",", 1);
			w_string(w, k, strlen(k));
			w_put(w, ":", 1);
			w_value(w, &v->u.members[i].val);
		}
		w_put(w, "}", 1);
		break;
	}
}

int jtree_write(const struct jtree *v, int (*out)(void *ctx, const char *p, size_t len), void *ctx)
{
	struct writer *w = malloc(sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->out = out;
	w->ctx = ctx;
	w->n = 0;
	w->err = 0;
	w_value(w, v);
	w_flush(w);
	r = w->err;
	free(w);
	return r;
}

/*
 * The json-c wrapper of a whole document.
 */

#define WRAP_MAGIC UINT64_C(0x6a747265652d7770) /* "jtree-wp" */

struct wrap {
	uint64_t magic;
	struct jtree_doc *doc;
	const struct jtree *v;
};

static int printbuf_out(void *ctx, const char *p, size_t len)
{
	if (len > INT32_MAX)
		return -ENOMEM;
	return printbuf_memappend(ctx, p, (int)len) < 0 ? -ENOMEM : 0;
}

static int wrap_serialize(struct json_object *obj, struct printbuf *pb, int level, int flags)
{
	struct wrap *w = json_object_get_userdata(obj);

	(void)level;
	(void)flags;
	return jtree_write(w->v, printbuf_out, pb) < 0 ? -1 : 0;
}

static void wrap_delete(struct json_object *obj, void *userdata)
{
	struct wrap *w = userdata;

	(void)obj;
	jtree_doc_free(w->doc);
	free(w);
}

struct json_object *jtree_wrap_json(struct jtree_doc *doc, const struct jtree *v)
{
	struct json_object *obj = json_object_new_object();
	struct wrap *w = malloc(sizeof(*w));

	if (!obj || !w) {
		json_object_put(obj);
		free(w);
		jtree_doc_free(doc);
		return NULL;
	}
	w->magic = WRAP_MAGIC;
	w->doc = doc;
	w->v = v;
	json_object_set_serializer(obj, wrap_serialize, w, wrap_delete);
	return obj;
}

const struct jtree *jtree_of_json(struct json_object *obj)
{
	struct wrap *w;

	/* Only objects: other types keep their own data in userdata. */
	if (!json_object_is_type(obj, json_type_object) || json_object_object_length(obj) != 0)
		return NULL;
	w = json_object_get_userdata(obj);
	return w && w->magic == WRAP_MAGIC ? w->v : NULL;
}
