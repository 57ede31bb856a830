/*
 * fdpoll: readiness of a file descriptor, reported from libuv's own event loop.
 *
 * A uv_poll_t is an epoll watch inside Node's loop, so waiting costs nothing while the fd is
 * quiet: no thread, no timer. It works on any pollable fd, character devices such as
 * /dev/net/tun included. The addon only signals readiness; reading and writing stay with the
 * caller. libuv polls level-triggered: while the fd stays readable the callback fires on every
 * loop turn, so a reader that stops at a budget is called again after the loop's other work.
 *
 * Lifetime: the C state lives until both the uv handle has finished closing and the JS object
 * has been collected (or the environment torn down), whichever comes last. While a watch is
 * active the JS object is held strongly, so an active watch is never collected under libuv.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref self;     /* weak while idle, strong while watching */
  napi_ref callback; /* (events, status) => void */
  napi_async_context async_context;
  napi_async_cleanup_hook_handle teardown_hook;
  int events;        /* UV_READABLE | UV_WRITABLE currently watched */
  int closing;       /* uv_close called: no more callbacks, no more JS */
  int handle_closed; /* uv close callback ran */
  int wrapper_gone;  /* JS object finalized */
} poller_t;

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, "E_FDPOLL", "fdpoll: Node-API call failed: " #call);     \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

static void maybe_free(poller_t *p) {
  if (p->handle_closed && p->wrapper_gone) free(p);
}

static void on_handle_closed(uv_handle_t *handle) {
  poller_t *p = (poller_t *)handle->data;
  p->handle_closed = 1;
  /* Signals an environment teardown waiting on us that the handle is gone. */
  if (p->teardown_hook != NULL) {
    napi_remove_async_cleanup_hook(p->teardown_hook);
    p->teardown_hook = NULL;
  }
  maybe_free(p);
}

/* Stops libuv from touching the fd; the caller may close the fd right after this returns. */
static void begin_close(poller_t *p) {
  if (p->closing) return;
  p->closing = 1;
  p->events = 0;
  uv_close((uv_handle_t *)&p->handle, on_handle_closed);
}

/* Drops what the JS side holds; only with JS allowed (a method call or a finalizer). */
static void release_js(poller_t *p) {
  napi_env env = p->env;
  if (p->callback != NULL) {
    napi_delete_reference(env, p->callback);
    p->callback = NULL;
  }
  if (p->async_context != NULL) {
    napi_async_destroy(env, p->async_context);
    p->async_context = NULL;
  }
}

static void set_strong(poller_t *p, int strong) {
  uint32_t count = 0;
  if (p->self == NULL) return;
  if (strong) napi_reference_ref(p->env, p->self, &count);
  else napi_reference_unref(p->env, p->self, &count);
}

static void on_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  poller_t *p = (poller_t *)arg;
  (void)hook;
  if (p->closing) return; /* on_handle_closed removes the hook */
  begin_close(p);
}

static void on_finalize(napi_env env, void *data, void *hint) {
  poller_t *p = (poller_t *)data;
  (void)hint;
  if (p->self != NULL) {
    napi_delete_reference(env, p->self);
    p->self = NULL;
  }
  release_js(p);
  begin_close(p);
  p->wrapper_gone = 1;
  maybe_free(p);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  poller_t *p = (poller_t *)handle->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_value self, callback, argv[2];
  napi_status s;
  if (p->closing || p->callback == NULL) return;
  if (status < 0 && p->events != 0) {
    /* libuv has stopped the watch after an error: mirror that before JS hears of it. */
    p->events = 0;
    set_strong(p, 0);
  }
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, p->self, &self) == napi_ok && self != NULL &&
      napi_get_reference_value(env, p->callback, &callback) == napi_ok &&
      napi_create_int32(env, status < 0 ? 0 : events, &argv[0]) == napi_ok &&
      napi_create_int32(env, status < 0 ? status : 0, &argv[1]) == napi_ok) {
    /* make_callback, not call_function: runs the nextTick and microtask queues afterwards. */
    s = napi_make_callback(env, p->async_context, self, callback, 2, argv, NULL);
    if (s == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static poller_t *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "E_FDPOLL", "fdpoll: not an FdPoll object");
    return NULL;
  }
  return (poller_t *)data;
}

static napi_value throw_uv(napi_env env, const char *what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "fdpoll: %s: %s (%s)", what, uv_strerror(err), uv_err_name(err));
  napi_throw_error(env, uv_err_name(err), msg);
  return NULL;
}

/* new FdPoll(fd, callback) */
static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self, name;
  napi_valuetype type;
  int32_t fd;
  uv_loop_t *loop;
  poller_t *p;
  int err;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "E_FDPOLL", "fdpoll: fd must be a non-negative integer");
    return NULL;
  }
  CHECK(napi_typeof(env, argv[1], &type));
  if (type != napi_function) {
    napi_throw_type_error(env, "E_FDPOLL", "fdpoll: callback must be a function");
    return NULL;
  }
  CHECK(napi_get_uv_event_loop(env, &loop));
  p = (poller_t *)calloc(1, sizeof *p);
  if (p == NULL) {
    napi_throw_error(env, "E_FDPOLL", "fdpoll: out of memory");
    return NULL;
  }
  p->env = env;
  err = uv_poll_init(loop, &p->handle, fd);
  if (err != 0) {
    free(p);
    return throw_uv(env, "uv_poll_init", err);
  }
  p->handle.data = p;
  /* From here on the handle exists and must be closed through uv_close, never freed directly. */
  if (napi_wrap(env, self, p, on_finalize, NULL, NULL) != napi_ok) {
    p->wrapper_gone = 1;
    begin_close(p);
    napi_throw_error(env, "E_FDPOLL", "fdpoll: napi_wrap failed");
    return NULL;
  }
  CHECK(napi_create_reference(env, self, 0, &p->self));
  CHECK(napi_create_reference(env, argv[1], 1, &p->callback));
  CHECK(napi_create_string_utf8(env, "tandem:fdpoll", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, self, name, &p->async_context));
  CHECK(napi_add_async_cleanup_hook(env, on_teardown, p, &p->teardown_hook));
  return self;
}

/* watch(events): 0 stops watching; otherwise UV_READABLE | UV_WRITABLE. */
static napi_value watch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t events;
  int err;
  poller_t *p = unwrap(env, info, &argc, argv);
  if (p == NULL) return NULL;
  if (p->closing) {
    napi_throw_error(env, "E_FDPOLL_CLOSED", "fdpoll: closed");
    return NULL;
  }
  if (argc < 1 || napi_get_value_int32(env, argv[0], &events) != napi_ok || (events & ~(UV_READABLE | UV_WRITABLE)) != 0) {
    napi_throw_type_error(env, "E_FDPOLL", "fdpoll: events must be a combination of READABLE and WRITABLE");
    return NULL;
  }
  if (events == p->events) return NULL;
  if (events == 0) {
    uv_poll_stop(&p->handle);
    p->events = 0;
    set_strong(p, 0);
    return NULL;
  }
  err = uv_poll_start(&p->handle, events, on_poll);
  if (err != 0) return throw_uv(env, "uv_poll_start", err);
  if (p->events == 0) set_strong(p, 1);
  p->events = events;
  return NULL;
}

static napi_value set_ref(napi_env env, napi_callback_info info, int ref) {
  size_t argc = 0;
  poller_t *p = unwrap(env, info, &argc, NULL);
  if (p == NULL || p->closing) return NULL;
  if (ref) uv_ref((uv_handle_t *)&p->handle);
  else uv_unref((uv_handle_t *)&p->handle);
  return NULL;
}

static napi_value ref(napi_env env, napi_callback_info info) { return set_ref(env, info, 1); }
static napi_value unref(napi_env env, napi_callback_info info) { return set_ref(env, info, 0); }

/* close(): stops watching at once (the fd may be closed right after); idempotent. */
static napi_value close_poll(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  poller_t *p = unwrap(env, info, &argc, NULL);
  if (p == NULL || p->closing) return NULL;
  if (p->events != 0) set_strong(p, 0);
  begin_close(p);
  release_js(p);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value cls, readable, writable;
  napi_property_descriptor methods[] = {
      {"watch", NULL, watch, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, unref, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_poll, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_class(env, "FdPoll", NAPI_AUTO_LENGTH, construct, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(napi_create_int32(env, UV_READABLE, &readable));
  CHECK(napi_create_int32(env, UV_WRITABLE, &writable));
  CHECK(napi_set_named_property(env, exports, "FdPoll", cls));
  CHECK(napi_set_named_property(env, exports, "READABLE", readable));
  CHECK(napi_set_named_property(env, exports, "WRITABLE", writable));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
