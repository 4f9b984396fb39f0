FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway gateway
COPY adapters adapters
COPY mappings mappings
COPY policies policies
RUN pip install --no-cache-dir . && useradd --system gateway
USER gateway
EXPOSE 8000
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
