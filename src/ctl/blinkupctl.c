/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"

static void help(void) {
        printf("Usage: blinkupctl [--user-bus] COMMAND [OPTIONS]\n\n"
               "Control a BlinkUp fixture (blinkupd).\n\n"
               "Commands:\n"
               "  status [--json[=MODE]]           state, fixture, counters, last result and timing\n"
               "  blinkup [--serial=S] [--operator=O] [--wait [--confirm]] [--timeout=SEC]\n"
               "                                   start a factory BlinkUp; --serial, --operator:\n"
               "                                   the unit and who runs the fixture, recorded;\n"
               "                                   --wait: until the frame was sent; --confirm:\n"
               "                                   until the device enrolled\n"
               "  clear [--wait] [--timeout=SEC]   flash the clear (wipe) frame\n"
               "  cancel                           stop the BlinkUp in progress\n"
               "  monitor [--json[=MODE]]          print state changes and results as they happen\n"
               "  history [-n N] [--state-dir=DIR] [--json[=MODE]]\n"
               "                                   the last attempts from the durable record\n"
               "  encode [OPTIONS]                 print a BlinkUp frame offline (see encode --help)\n\n"
               "Options:\n"
               "  -h --help          show this help\n"
               "     --version       show the version\n"
               "     --user-bus      talk to blinkupd on the session bus, not the system bus\n\n"
               "--json prints JSON for programs: short (the default: one object per line),\n"
               "pretty (indented) or off (text).\n\n"
               "Exit status: 0 success, 1 failure (the error on stderr), 2 usage error.\n");
}

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
} Verb;

static const Verb verbs[] = {
        { "status", ctl_status },
        { "blinkup", ctl_blinkup },
        { "clear", ctl_clear },
        { "cancel", ctl_cancel },
        { "monitor", ctl_monitor },
        { "history", ctl_history },
        { "encode", ctl_encode },
};

int main(int argc, char *argv[]) {
        int i = 1;

        for (; i < argc && argv[i][0] == '-'; i++) {
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        help();
                        return CTL_EXIT_OK;
                }
                if (streq(argv[i], "--version")) {
                        puts(PACKAGE_STRING);
                        return CTL_EXIT_OK;
                }
                if (streq(argv[i], "--user-bus")) {
                        ctl_set_user_bus(true);
                        continue;
                }
                fprintf(stderr, "blinkupctl: unknown option \"%s\" (see --help)\n", argv[i]);
                return CTL_EXIT_USAGE;
        }
        if (i >= argc) {
                fprintf(stderr, "blinkupctl: a command is needed (see --help)\n");
                return CTL_EXIT_USAGE;
        }
        for (size_t v = 0; v < ELEMENTSOF(verbs); v++)
                if (streq(argv[i], verbs[v].name))
                        return verbs[v].run(argc - i, argv + i);

        fprintf(stderr, "blinkupctl: unknown command \"%s\" (see --help)\n", argv[i]);
        return CTL_EXIT_USAGE;
}
