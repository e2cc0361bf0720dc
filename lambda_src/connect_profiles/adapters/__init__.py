"""The only modules that import boto3 and botocore: Connect, S3, SNS, DynamoDB and client construction."""
