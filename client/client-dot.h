/*
 * client-dot.h - a graph's status as Graphviz source (client-dot.c).
 */
#ifndef CLIENT_DOT_H
#define CLIENT_DOT_H

#include <stdio.h>

struct json_object;

/* Writes the `status` answer (the whole graph) as a DOT digraph: one node
 * per graph node, its path as the DOT id; scopes as clusters; `after` as
 * edges; fill colours by state.  Returns 0, or -EINVAL when the answer has
 * no root node. */
int client_dot_status(FILE *out, struct json_object *status);

#endif /* CLIENT_DOT_H */
