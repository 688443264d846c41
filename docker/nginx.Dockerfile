# The gateway: nginx with Mosaic's routes (gateway/nginx.conf) and the web UI's static files at /.
# Build from the repository root: docker build -f docker/nginx.Dockerfile .
FROM nginx:1.27-alpine

COPY gateway/nginx.conf /etc/nginx/nginx.conf
# Until the web UI exists (issue #7) a placeholder page; then a node build stage exports
# frontend/ (`next build` with output: "export") and its out/ folder is copied here instead.
COPY docker/frontend-placeholder/ /usr/share/nginx/html/
# No `nginx -t` here: the upstream names resolve only on the compose network.
EXPOSE 80
