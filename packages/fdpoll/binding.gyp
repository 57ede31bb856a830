{
  "targets": [
    {
      "target_name": "fdpoll",
      "sources": ["native/fdpoll.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
