"""The contract decorator: what a view declares is what is validated, guarded and documented."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify
from pydantic import Field

from gateway.openapi import MissingContract, build_document
from mosaic import security
from mosaic.contract import Answer, Body, Limit, Query, endpoint
from mosaic.settings import load_settings
from mosaic.web import install_common


class Search(Query):
    limit: Limit(50) = 10
    colour: list[str] = Field(default_factory=list, description="repeatable")
    exact: bool = False


class Vote(Body):
    image_id: str = Field(min_length=1, max_length=32)
    like: bool


class Voted(Answer):
    image_id: str
    like: bool


def make_app(tmp_path, token: str | None = None) -> Flask:
    app = Flask("t")
    install_common(app)
    security.install(app, load_settings(data_dir=tmp_path, api_token=token))

    @app.get("/search")
    @endpoint("Search.", query=Search)
    def search(query: Search):
        return jsonify(query.model_dump())

    @app.post("/vote")
    @endpoint("Vote.", body=Vote, body_required=True, mutates=True, answers={200: Voted})
    def vote(body: Vote):
        return jsonify(body.model_dump())

    @app.post("/ask")
    @endpoint("A POST that only reads.", body=Vote)
    def ask(body: Vote):
        return jsonify(ok=True)

    return app


def test_the_query_is_parsed_into_the_model(tmp_path):
    client = make_app(tmp_path).test_client()
    assert client.get("/search").get_json() == {"limit": 10, "colour": [], "exact": False}
    answer = client.get("/search?limit=5&colour=red&colour=teal&exact=yes&utm_source=x&limit=")
    assert answer.get_json() == {"limit": 5, "colour": ["red", "teal"], "exact": True}  # unknown parameters ignored


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=51", "limit"), ("limit=ten", "limit"),
                                          ("exact=perhaps", "exact")])
def test_a_bad_query_is_a_400_naming_the_field(tmp_path, query, field):
    answer = make_app(tmp_path).test_client().get(f"/search?{query}")
    body = answer.get_json()
    assert answer.status_code == 400 and body["error"] == "invalid_request" and set(body["fields"]) == {field}
    assert body["message"].startswith(f"the query is not valid: {field}: ")


@pytest.mark.parametrize("payload, fields", [
    ({"image_id": "a", "like": "false"}, {"like"}),  # a string is not a boolean
    ({"image_id": 5, "like": True}, {"image_id"}),
    ({"image_id": "a", "like": True, "extra": 1}, {"extra"}),
    ({}, {"image_id", "like"}),
    ([1], {"body"}),
])
def test_a_bad_body_is_a_400_naming_every_bad_field(tmp_path, payload, fields):
    answer = make_app(tmp_path).test_client().post("/vote", json=payload)
    assert answer.status_code == 400 and set(answer.get_json()["fields"]) == fields, answer.get_json()


def test_a_required_body_must_be_there(tmp_path):
    answer = make_app(tmp_path).test_client().post("/vote")
    assert answer.status_code == 400 and answer.get_json()["fields"] == {"body": "a JSON body is required"}


def test_mutating_views_need_the_token_and_reading_posts_do_not(tmp_path):
    client = make_app(tmp_path, token="s3cret").test_client()
    vote = {"image_id": "a", "like": True}
    assert client.post("/vote", json=vote).status_code == 401
    assert client.post("/vote", json=vote, headers={"Authorization": "Bearer s3cret"}).get_json() == vote
    assert client.post("/ask", json=vote).status_code == 200
    assert client.get("/search").status_code == 200


def test_the_document_is_made_from_the_contracts(tmp_path):
    document = build_document({"t": make_app(tmp_path)})
    search = document["paths"]["/t/search"]["get"]
    parameters = {p["name"]: p for p in search["parameters"]}
    assert parameters["limit"]["schema"]["maximum"] == 50 and parameters["limit"]["schema"]["default"] == 10
    assert parameters["colour"]["explode"] and parameters["colour"]["description"] == "repeatable"
    vote = document["paths"]["/t/vote"]["post"]
    assert vote["security"] == [{"bearer": []}] and "security" not in document["paths"]["/t/ask"]["post"]
    assert vote["requestBody"]["required"]
    assert vote["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Vote"}
    assert document["components"]["schemas"]["Vote"]["properties"]["image_id"]["maxLength"] == 32
    assert vote["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Voted"}
    assert {"400", "413"} <= set(vote["responses"])


def test_a_route_without_a_contract_is_refused_by_the_document(tmp_path):
    app = make_app(tmp_path)

    @app.get("/undeclared")
    def undeclared():
        return "?"

    with pytest.raises(MissingContract, match="/undeclared"):
        build_document({"t": app})
