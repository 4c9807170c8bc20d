/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "daemon.h"

int main(int argc, char *argv[]) {
        return daemon_main(argc, argv);
}
