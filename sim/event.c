/*
 * event.c -- names for the event stream's enumerations (see event.h).
 */
#include "sim/event.h"

const char *const event_stall_names[EVENT_STALL_COUNT] = {"none", "semaphore", "dma"};
