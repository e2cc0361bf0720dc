"""Pure code: the model, CSV in and out, planning, resolution, the engine, outputs and the job's steps.

Nothing here imports boto3, botocore or the adapters; the ports are Protocols in `connect_profiles.ports`.
"""
