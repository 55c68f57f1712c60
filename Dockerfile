# One image for every Pilothouse process of docker-compose.yml: the replicas (`manage.py serve`, the entrypoint)
# and the PKI init service (`manage.py initpki`). Runs as a non-root user; state lives in /var/lib/pilothouse.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=apiserver.settings \
    PILOTHOUSE_DATA_DIR=/var/lib/pilothouse

WORKDIR /app
COPY pyproject.toml manage.py ./
COPY apiserver ./apiserver
COPY console ./console
COPY templates ./templates
COPY static ./static
COPY twisted ./twisted
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/pilothouse pilothouse \
    && mkdir -p /var/lib/pilothouse/pki \
    && chown -R pilothouse:pilothouse /var/lib/pilothouse \
    && chmod 0700 /var/lib/pilothouse /var/lib/pilothouse/pki

USER 10001:10001
VOLUME ["/var/lib/pilothouse"]
EXPOSE 6443

# Liveness: /livez over TLS, verified against the cluster CA (health endpoints need no credentials).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import ssl, urllib.request; urllib.request.urlopen('https://localhost:6443/livez', context=ssl.create_default_context(cafile='/var/lib/pilothouse/pki/ca.crt'), timeout=4)"]

ENTRYPOINT ["python", "manage.py", "serve", "--data-dir=/var/lib/pilothouse"]
