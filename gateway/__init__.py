"""gateway: the composition root. Mounts every service, runs the platform, owns the `mosaic` command."""
