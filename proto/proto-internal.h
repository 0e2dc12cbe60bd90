/*
 * proto-internal.h - helpers shared by the proto-*.c files, not part of
 * the library's interface (daemon/ and client/ must not include it).
 *
 * They wrap the json-c calls whose failure modes are easy to get wrong:
 * json_object_object_add() and json_object_array_add() do not free the
 * value when they fail, and the constructors return NULL on ENOMEM.  Each
 * helper here steals its value argument whatever happens and turns every
 * failure into -ENOMEM, so building a message is a straight line of
 * `r = proto__add_string(...); if (r < 0) goto fail;`.
 */
#ifndef COOPD_PROTO_INTERNAL_H
#define COOPD_PROTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The typed forms of proto_json_add() (proto-rpc.h). */
int proto__add_string(struct json_object *obj, const char *key, const char *s);
int proto__add_string_len(struct json_object *obj, const char *key, const char *s, size_t len);
int proto__add_int(struct json_object *obj, const char *key, int64_t v);
int proto__add_bool(struct json_object *obj, const char *key, bool v);

/* Parses text with a strict tokener limited to depth (UTF-8 validated,
 * no trailing garbage).  Returns the object or NULL with err filled:
 * PROTO_ERR_INVALID_REQUEST for too deep, PROTO_ERR_PARSE otherwise. */
struct proto_error;
struct json_object *proto__parse(const char *text, size_t len, unsigned depth,
				 struct proto_error *err);

/* "an object", "an integer"...: the words of "expected %s" errors. */
enum proto_jtype;
const char *proto__jtype_desc(enum proto_jtype t);

/* True if the string object contains a NUL byte. */
bool proto__has_nul(struct json_object *s);

/* Offset of the first byte of text that does not begin a valid UTF-8
 * sequence (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing
 * above U+10FFFF), or len when all of it is valid.  json-c lets such bytes
 * through and would echo them raw in answers. */
size_t proto__utf8_check(const char *text, size_t len);

/* Finds the member key of the JSON object text (already parsed, so
 * well-formed) at its top level and points *ret_v at its value's text;
 * the last one wins, as in json-c.  Returns false when there is none.
 * Used to echo a request id exactly as written (json-c saturates integers
 * beyond 64 bits). */
bool proto__member_text(const char *text, size_t len, const char *key, const char **ret_v,
			size_t *ret_vlen);

#endif /* COOPD_PROTO_INTERNAL_H */
