/* SPDX-License-Identifier: MIT */
#pragma once

/* Doubly linked lists through members named prev and next, headed by a plain pointer. */

#define LIST_PREPEND(head, item) \
        do { \
                (item)->prev = NULL; \
                (item)->next = (head); \
                if ((item)->next) \
                        (item)->next->prev = (item); \
                (head) = (item); \
        } while (0)

/* Unlinks item; a no-op for an item that is in no list (prev and next NULL, not the head). */
#define LIST_REMOVE(head, item) \
        do { \
                if ((item)->prev) \
                        (item)->prev->next = (item)->next; \
                else if ((head) == (item)) \
                        (head) = (item)->next; \
                if ((item)->next) \
                        (item)->next->prev = (item)->prev; \
                (item)->prev = (item)->next = NULL; \
        } while (0)
