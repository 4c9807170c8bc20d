/* SPDX-License-Identifier: MIT */
#include "https-service.h"

int main(int argc, char *argv[]) {
        return https_main(argc, argv);
}
