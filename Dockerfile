# offerbot's image: the package installed by deploy/install.sh from the runtime lock (hashes
# checked), run as a non-root user, the embedded store on the /data volume.
#   docker build -t offerbot .
#   docker run --env-file .env -v offerbot-data:/data -p 3000:3000 offerbot

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md requirements-runtime.lock ./
COPY bot ./bot
COPY storage ./storage
COPY deploy/install.sh ./deploy/install.sh
RUN sh deploy/install.sh /opt/offerbot /src/requirements-runtime.lock

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 offerbot \
    && useradd --system --uid 10001 --gid offerbot --home-dir /data --no-create-home offerbot \
    && mkdir /data \
    && chown 10001:10001 /data
COPY --from=build /opt/offerbot /opt/offerbot
ENV PATH=/opt/offerbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OFFERBOT_DATA_DIR=/data
VOLUME ["/data"]
WORKDIR /opt/offerbot
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["offerbot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
