{
  "targets": [
    {
      "target_name": "nfqueue",
      "sources": ["nfqueue.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lnetfilter_queue"]
    }
  ]
}
