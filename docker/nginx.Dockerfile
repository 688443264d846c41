# The gateway: nginx with Mosaic's routes (gateway/nginx.conf) and the web UI's static export at /.
# Build from the repository root: docker build -f docker/nginx.Dockerfile .

# The Next.js UI, exported to static files (`output: "export"`): nginx needs no Node at run time.
FROM node:20-alpine AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci
COPY frontend/ ./
RUN npm run build

FROM nginx:1.27-alpine
COPY gateway/nginx.conf /etc/nginx/nginx.conf
COPY --from=frontend /frontend/out/ /usr/share/nginx/html/
# No `nginx -t` here: the upstream names resolve only on the compose network.
EXPOSE 80
