/* SPDX-License-Identifier: MIT */
#pragma once

int daemon_main(int argc, char *argv[]);
