# One image for every role: `docker run IMAGE pipeline`, `... engine`, `... simulator`.
# Stage 1 builds wheels for the project and its dependencies; the final stage installs only those
# wheels (PyAV and OpenCV wheels carry their own native libraries), so no compiler ships.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN pip install --no-cache-dir pip==24.3.1
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="videorecog" \
      org.opencontainers.image.description="Kafka upload events in, shots and covers out; and a self-hosted videorecog API engine" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://example.invalid/videorecog"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIDEORECOG_ENGINE_HOST=0.0.0.0 \
    VIDEORECOG_ENGINE_DATA_DIR=/var/lib/videorecog
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels "videorecog==${VERSION}" \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin videorecog \
    && install -d -o 10001 -g 10001 /var/lib/videorecog
USER 10001:10001
EXPOSE 8080 9100
ENTRYPOINT ["videorecog"]
CMD ["pipeline"]
