{
  "targets": [
    {
      "target_name": "pump",
      "sources": ["native/pump.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
