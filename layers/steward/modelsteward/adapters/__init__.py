"""The only modules that import boto3. Each translates ClientError into modelsteward.errors."""
