/* SPDX-License-Identifier: MIT */
#pragma once

/* blinkupd-https, the factory server client's process (https-proto.h) */
int https_main(int argc, char *argv[]);
