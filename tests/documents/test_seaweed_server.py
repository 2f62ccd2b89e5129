"""The suite's object store: a real S3 API that keeps its objects across a stop and a restart."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.servers import SeaweedServer


def test_seaweed_serves_s3_and_keeps_objects_across_a_restart(seaweed_server: SeaweedServer) -> None:
    seaweed_server.create_bucket("smoke")
    client = seaweed_server.client()
    client.put_object(Bucket="smoke", Key="hello", Body=b"hello, fellows")
    assert client.get_object(Bucket="smoke", Key="hello")["Body"].read() == b"hello, fellows"

    seaweed_server.stop()
    try:
        with pytest.raises(EndpointConnectionError):
            client.get_object(Bucket="smoke", Key="hello")
    finally:
        seaweed_server.start()

    client = seaweed_server.client()
    assert client.get_object(Bucket="smoke", Key="hello")["Body"].read() == b"hello, fellows"
    client.put_object(Bucket="smoke", Key="after", Body=b"again")
    assert client.get_object(Bucket="smoke", Key="after")["Body"].read() == b"again"


def test_the_bucket_is_private(seaweed_server: SeaweedServer) -> None:
    import urllib.error
    import urllib.request

    seaweed_server.create_bucket("smoke")
    seaweed_server.client().put_object(Bucket="smoke", Key="private", Body=b"secret")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{seaweed_server.s3_endpoint}/smoke/private", timeout=5)  # noqa: S310
    assert refused.value.code == 403
