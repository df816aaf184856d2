# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    O2C_MEDIA_ROOT=/app/var/media

# WeasyPrint renders invoices with Pango; DejaVu is the font the PDFs fall back on.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Runtime packages only: lines marked "# dev" (test and lint tools) stay out of the image.
COPY requirements.lock .
RUN sed '/# dev$/d' requirements.lock > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .
# Static files are built into the image (whitenoise serves them); the secret is a build-time dummy.
RUN DJANGO_ENV=production \
    DJANGO_SECRET_KEY=collectstatic-only-build-time-dummy-secret-key-not-used-at-runtime \
    python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 --home-dir /app o2c \
 && mkdir -p /app/var/media \
 && chown -R o2c /app/var

USER o2c
EXPOSE 8000
CMD ["gunicorn", "o2c.wsgi", "-b", "0.0.0.0:8000", "-w", "2"]
