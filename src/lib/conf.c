/* SPDX-License-Identifier: MIT */
/* Loading the configuration: the main file and its drop-ins read by the INI reader
 * (conf-parser.h), each assignment parsed by the key table (conf-table.c), then the rules across
 * keys (conf-check.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf() */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf-table.h"
#include "strv.h"

Config *config_free(Config *c) {
        if (!c)
                return NULL;

        free(c->path);
        free(c->wifi.ssid);
        erase_and_free(c->wifi.password);
        free(c->wifi.password_file);
        free(c->led.line.chip);
        free(c->led.line.line);
        free(c->button.line.chip);
        free(c->button.line.line);
        ConfigLine *indicators[] = { &c->indicators.ready, &c->indicators.busy, &c->indicators.pass,
                                     &c->indicators.fail };
        for (size_t i = 0; i < ELEMENTSOF(indicators); i++) {
                free(indicators[i]->chip);
                free(indicators[i]->line);
        }
        free(c->server.url);
        erase_and_free(c->server.login_key);
        free(c->server.login_key_file);
        erase_and_free(c->server.api_key);
        free(c->server.api_key_file);
        free(c->server.plan_id);
        free(c->server.fixture_id);
        free(c->server.ca_file);
        free(c->fixture.line);
        free(c->results.url);
        erase_and_free(c->results.token);
        free(c->results.token_file);
        free(c->scanner.device);
        free(c->metrics.textfile_directory);
        free(c->simulation.trace);
        free(c->simulation.button_fifo);
        free(c->daemon.state_directory);
        free(c);
        return NULL;
}

/* ---- the parser's callbacks ---- */

static void loader_file_begin(ConfParser *p, void *userdata) {
        Loader *l = userdata;

        memset(l->seen, 0, config_n_items * sizeof(unsigned));
}

static int loader_assign(ConfParser *p, const char *section, const char *key, const char *value,
                         void *userdata) {
        Loader *l = userdata;
        size_t i;
        int r;

        i = config_item_index(section, key);
        if (i == SIZE_MAX)
                return conf_line_warning(p, key, "unknown key in section [%s], ignoring it", section);

        if (l->seen[i] > 0)
                (void) conf_line_warning(p, key,
                                         "set again in this file (first on line %u), the later value wins",
                                         l->seen[i]);
        l->seen[i] = p->line;

        r = config_item_parse(p, i, value, l->config);
        if (r < 0)
                return r;
        l->origins[i] = (Origin){ p->file, p->line };
        return 0;
}

static const ConfParserCallbacks loader_callbacks = {
        .section_known = config_section_known,
        .file_begin = loader_file_begin,
        .assign = loader_assign,
};

/* ---- the loader ---- */

static Loader *loader_free(Loader *l) {
        if (!l)
                return NULL;
        conf_parser_free(l->parser);
        config_free(l->config);
        free(l->origins);
        free(l->seen);
        free(l);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Loader *, loader_free);

/* Every key set to its default. */
static int loader_apply_defaults(Loader *l) {
        for (size_t i = 0; i < config_n_items; i++) {
                int r = config_item_parse(l->parser, i, "", l->config);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        abort(); /* a default in the table that its own parser refuses */
        }
        return 0;
}

/* A loader holding a configuration with every default applied. */
static int loader_new(const char *path, Loader **ret) {
        _cleanup_(loader_freep) Loader *l = NULL;
        int r;

        l = calloc(1, sizeof(Loader));
        if (!l)
                return -ENOMEM;
        l->config = calloc(1, sizeof(Config));
        l->origins = calloc(config_n_items, sizeof(Origin));
        l->seen = calloc(config_n_items, sizeof(unsigned));
        if (!l->config || !l->origins || !l->seen)
                return -ENOMEM;
        l->config->path = strdup(path);
        if (!l->config->path)
                return -ENOMEM;
        r = conf_parser_new(&loader_callbacks, l, &l->parser);
        if (r < 0)
                return r;

        l->parser->file = "(defaults)";
        r = loader_apply_defaults(l);
        if (r < 0)
                return r;
        l->parser->file = NULL;

        *ret = TAKE_PTR(l);
        return 0;
}

/* Hands over the messages (errors first) and, on success, the configuration. */
static int loader_return(Loader *l, int r, Config **ret, char ***ret_messages) {
        if (ret_messages && conf_parser_take_messages(l->parser, ret_messages) < 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l->config);
        return 0;
}

/* The main file, then PATH.d/. The first file that could not be read is remembered. */
static int loader_parse_files(Loader *l, const char *path, bool missing_ok) {
        _cleanup_(freep) char *dropins = NULL;
        ConfParser *p = l->parser;
        int r;

        r = conf_parser_parse_file(p, path, missing_ok);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                p->file_error = r;

        if (asprintf(&dropins, "%s.d", path) < 0)
                return -ENOMEM;
        r = conf_parser_parse_dropins(p, dropins);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && p->file_error == 0)
                p->file_error = r;
        return 0;
}

int config_load_full(const char *path, bool missing_ok, Config **ret, char ***ret_messages) {
        _cleanup_(loader_freep) Loader *l = NULL;
        int r;

        if (!path)
                path = CONFIG_DEFAULT_PATH;

        r = loader_new(path, &l);
        if (r < 0)
                return r;
        r = loader_parse_files(l, path, missing_ok);
        if (r < 0)
                return r;

        r = config_check(l);
        if (r == -EINVAL && l->parser->file_error < 0)
                r = l->parser->file_error;
        return loader_return(l, r, ret, ret_messages);
}

int config_load(const char *path, Config **ret, char ***ret_messages) {
        return config_load_full(path, !path, ret, ret_messages);
}

int config_load_buffer(const char *name, const void *data, size_t size, Config **ret, char ***ret_messages) {
        _cleanup_(loader_freep) Loader *l = NULL;
        int r;

        r = loader_new(name, &l);
        if (r < 0)
                return r;
        conf_parser_parse_buffer(l->parser, name, data, size, false);
        r = config_check(l);
        return loader_return(l, r, ret, ret_messages);
}
