# One image for every Pilothouse replica (docker-compose.yml). Runs as a non-root user.
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml manage.py ./
COPY apiserver ./apiserver
COPY console ./console
COPY templates ./templates
COPY static ./static
COPY twisted ./twisted
RUN pip install --no-cache-dir . && useradd --system --uid 10001 --home-dir /var/lib/pilothouse pilothouse \
    && mkdir -p /var/lib/pilothouse && chown pilothouse /var/lib/pilothouse
USER pilothouse
EXPOSE 6443
ENTRYPOINT ["python", "manage.py", "serve", "--data-dir", "/var/lib/pilothouse"]
