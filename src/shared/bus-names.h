/* SPDX-License-Identifier: MIT */
#pragma once

/* The daemon's name, object and interface on the bus, and its errors
 * (org.blinkupd.Fixture1(5); dbus/org.blinkupd.Fixture1.xml): the daemon answers with them,
 * blinkupctl calls them. */

#define FIXTURE_BUS_NAME "org.blinkupd.Fixture1"
#define FIXTURE_OBJECT_PATH "/org/blinkupd/Fixture1"
#define FIXTURE_INTERFACE "org.blinkupd.Fixture1"

#define FIXTURE_ERROR_NOT_FACTORY_FIXTURE FIXTURE_INTERFACE ".Error.NotFactoryFixture"
#define FIXTURE_ERROR_SERVER FIXTURE_INTERFACE ".Error.Server"
#define FIXTURE_ERROR_AUTH FIXTURE_INTERFACE ".Error.Auth"
#define FIXTURE_ERROR_TIMEOUT FIXTURE_INTERFACE ".Error.Timeout"
#define FIXTURE_ERROR_TIMING_FAULT FIXTURE_INTERFACE ".Error.TimingFault"
#define FIXTURE_ERROR_GPIO FIXTURE_INTERFACE ".Error.Gpio"
#define FIXTURE_ERROR_CANCELLED FIXTURE_INTERFACE ".Error.Cancelled"
#define FIXTURE_ERROR_INVALID_CONFIG FIXTURE_INTERFACE ".Error.InvalidConfig"
#define FIXTURE_ERROR_BUSY FIXTURE_INTERFACE ".Error.Busy"
#define FIXTURE_ERROR_RECORD FIXTURE_INTERFACE ".Error.Record"
#define FIXTURE_ERROR_PREFIX FIXTURE_INTERFACE ".Error."
