# The gateway: nginx with Mosaic's routes (gateway/nginx.conf) and the web UI's static export at /.
# Build from the repository root: docker build -f docker/nginx.Dockerfile .

# The Next.js UI, exported to static files (`output: "export"`): nginx needs no Node at run time.
# Node 20, the major the README requires (Next 16 needs >= 20.9): the image builds the UI with the
# Node it is developed and tested on, not whatever `node:alpine` points at that day.
FROM node:20-alpine AS frontend
# As `make frontend`: building the image sends no usage data to Vercel.
ENV NEXT_TELEMETRY_DISABLED=1
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
# npm ci: exactly package-lock.json (with its integrity hashes), and an error if it disagrees with
# package.json, never a fresh resolution.
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM nginx:1.27-alpine
COPY gateway/nginx.conf /etc/nginx/nginx.conf
COPY --from=frontend /frontend/out/ /usr/share/nginx/html/
# No `nginx -t` here: the upstream names resolve only on the compose network.
EXPOSE 80
