/* SPDX-License-Identifier: MIT */
#include "daemon.h"

int main(int argc, char *argv[]) {
        return https_main(argc, argv);
}
