//! The fakes answer the way the official descriptions say the real services do.

use crate::support;
use serde_json::json;
use support::*;

#[tokio::test]
async fn fake_github_answers_match_githubs_description() {
    let app = TestApp::start().await;
    let patch = "@@ -1,2 +1,3 @@\n a\n+b\n c";
    app.github.add_pull(Pull::new(
        REPO,
        5,
        &"b".repeat(40),
        vec![File::new("a.rs", "modified", Some(patch))],
    ));
    // Sent as GitHub asks every client to: one JSON media type, the API version, a user agent.
    let http = reqwest::Client::builder()
        .user_agent("codex-review/test")
        .default_headers(reqwest::header::HeaderMap::from_iter([
            (
                reqwest::header::ACCEPT,
                "application/vnd.github+json".parse().unwrap(),
            ),
            (
                reqwest::header::HeaderName::from_static("x-github-api-version"),
                "2022-11-28".parse().unwrap(),
            ),
        ]))
        .build()
        .unwrap();
    let base = &app.github.base_url;
    // A real installation token through the App's JWT is needed: get it the app's way.
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &json!({"iat": now - 60, "exp": now + 540, "iss": APP_ID}),
        &key,
    )
    .unwrap();
    let check = |key: &str, status: &str, body: &serde_json::Value| {
        let errors = spec::check_github_response(key, status, body);
        assert!(errors.is_empty(), "{key}: {errors:#?}");
    };
    let app_json: serde_json::Value = http
        .get(format!("{base}/app"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check("GET /app", "200", &app_json);
    let token: serde_json::Value = http
        .post(format!("{base}/app/installations/1/access_tokens"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check(
        "POST /app/installations/{installation_id}/access_tokens",
        "201",
        &token,
    );
    let token = token["token"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let req = http.get(format!("{base}{path}")).bearer_auth(&token);
        async move {
            req.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    check(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}",
        "200",
        &get(format!("/repos/{REPO}/pulls/5")).await,
    );
    check(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
        "200",
        &get(format!("/repos/{REPO}/pulls/5/files")).await,
    );

    let review = json!({"commit_id": "b".repeat(40), "body": "x", "event": "COMMENT",
                        "comments": [{"path": "a.rs", "line": 2, "side": "RIGHT", "body": "y"}]});
    let res = http
        .post(format!("{base}/repos/{REPO}/pulls/5/reviews"))
        .bearer_auth(&token)
        .json(&review)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    check(
        "POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        "200",
        &res.json().await.unwrap(),
    );
    check(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews",
        "200",
        &get(format!("/repos/{REPO}/pulls/5/reviews")).await,
    );

    // Like GitHub: one comment outside the diff rejects the whole review with 422.
    let outside = json!({"commit_id": "b".repeat(40), "body": "x", "event": "COMMENT",
                         "comments": [{"path": "a.rs", "line": 2, "side": "RIGHT", "body": "ok"},
                                      {"path": "a.rs", "line": 9, "side": "RIGHT", "body": "off"}]});
    let res = http
        .post(format!("{base}/repos/{REPO}/pulls/5/reviews"))
        .bearer_auth(&token)
        .json(&outside)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(app.github.reviews().len(), 1);

    let res = http
        .post(format!("{base}/repos/{REPO}/issues/5/comments"))
        .bearer_auth(&token)
        .json(&json!({"body": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    check(
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments",
        "201",
        &res.json().await.unwrap(),
    );
    let res = http
        .post(format!("{base}/repos/{REPO}/issues/comments/77/reactions"))
        .bearer_auth(&token)
        .json(&json!({"content": "eyes"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    check(
        "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        "201",
        &res.json().await.unwrap(),
    );

    // Without a token GitHub says 401.
    let res = http
        .get(format!("{base}/repos/{REPO}/pulls/5"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    app.assert_no_violations();
    app.stop().await;
}

#[tokio::test]
async fn fake_openai_refuses_a_non_strict_schema_like_openai() {
    install_crypto();
    let ai = FakeOpenAi::start().await;
    let body = json!({
        "model": "gpt-5.1-codex",
        "input": "hi",
        "text": {"format": {"type": "json_schema", "name": "x", "strict": true,
                 "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}}}
    });
    let res = reqwest::Client::new()
        .post(format!("{}/responses", ai.base_url))
        .bearer_auth(support::fake_openai::API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let err: serde_json::Value = res.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("additionalProperties"),
        "{err}"
    );
}

#[tokio::test]
async fn fake_openai_pairs_tool_calls_with_outputs_and_resolves_only_its_own_reasoning() {
    install_crypto();
    let ai = FakeOpenAi::start().await;
    let tools = codex_review::codebase::tools::definitions();
    let user = json!({"type": "message", "role": "user", "content": "Review this."});
    let request = |input: Vec<serde_json::Value>| {
        json!({
            "model": "gpt-5.1-codex",
            "input": input,
            "tools": tools,
            "include": ["reasoning.encrypted_content"],
            "store": false
        })
    };
    let send = |body: serde_json::Value| {
        let url = format!("{}/responses", ai.base_url);
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .bearer_auth(support::fake_openai::API_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                res.status().as_u16(),
                res.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    ai.push(Reply::ToolCalls(vec![(
        "read_file",
        json!({"path": "src/lib.rs", "start_line": null, "end_line": null}),
    )]));
    let (status, first) = send(request(vec![user.clone()])).await;
    assert_eq!(status, 200, "{first}");
    let output = first["output"].as_array().unwrap().clone();
    assert!(
        output[0]["encrypted_content"]
            .as_str()
            .unwrap()
            .starts_with("enc_")
    );
    let call = output[1].clone();
    assert_eq!(call["type"], "function_call");
    let answer = json!({"type": "function_call_output", "call_id": call["call_id"], "output": "1: fn x() {}"});

    // A call without its output, an output without its call, a reasoning item never handed out.
    let (status, err) = send(request(vec![user.clone(), output[0].clone(), call.clone()])).await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("No tool output found"),
        "{err}"
    );
    let (status, err) = send(request(vec![user.clone(), answer.clone()])).await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("No tool call found"),
        "{err}"
    );
    let mut forged = output[0].clone();
    forged["encrypted_content"] = json!("enc_forged");
    let (status, err) = send(request(vec![
        user.clone(),
        forged,
        call.clone(),
        answer.clone(),
    ]))
    .await;
    assert_eq!(status, 400);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not found"),
        "{err}"
    );

    // The whole turn handed back: the final answer.
    let (status, done) = send(request(vec![user, output[0].clone(), call, answer])).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["output"][1]["type"], "message");
}

#[tokio::test]
async fn fake_graphql_answers_review_threads_and_refuses_unknown_ids_as_github_does() {
    let app = TestApp::start().await;
    let token = "ghs_graphql_test_token".to_string();
    app.github.state().tokens.insert(token.clone());
    app.github
        .state()
        .threads
        .push(support::fake_github::Thread {
            id: "PRRT_kwDOtest0001".into(),
            repo: REPO.into(),
            pr: 9,
            path: "a.rs".into(),
            resolved: false,
            comments: vec![support::fake_github::ThreadComment {
                id: 77,
                body: "**[P1] x**".into(),
                author: "codex-review[bot]".into(),
                association: "NONE".into(),
                review_id: Some(5),
            }],
        });
    let http = reqwest::Client::new();
    let post = |query: &str, variables: serde_json::Value| {
        http.post(format!("{}/graphql", app.github.base_url))
            .header("authorization", format!("Bearer {token}"))
            .header("user-agent", "codex-review/test")
            .header("x-github-api-version", "2022-11-28")
            .header("accept", "application/vnd.github+json")
            .json(&json!({"query": query, "variables": variables}))
            .send()
    };
    let (owner, name) = REPO.split_once('/').unwrap();
    let threads: serde_json::Value = post(
        "query($owner: String!, $name: String!, $number: Int!, $after: String) {
           repository(owner: $owner, name: $name) { pullRequest(number: $number) {
             reviewThreads(first: 50, after: $after) {
               pageInfo { hasNextPage endCursor }
               nodes { id isResolved comments(first: 50) { nodes {
                 databaseId body authorAssociation author { login }
                 pullRequestReview { databaseId } } } } } } } }",
        json!({"owner": owner, "name": name, "number": 9, "after": null}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let nodes = &threads["data"]["repository"]["pullRequest"]["reviewThreads"]["nodes"];
    assert_eq!(nodes[0]["id"], "PRRT_kwDOtest0001");
    assert_eq!(nodes[0]["isResolved"], false);
    assert_eq!(nodes[0]["comments"]["nodes"][0]["databaseId"], 77);

    let unknown: serde_json::Value = post(
        "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { id isResolved } } }",
        json!({"id": "PRRT_nope"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        unknown["data"]["resolveReviewThread"],
        serde_json::Value::Null
    );
    assert_eq!(unknown["errors"][0]["type"], "NOT_FOUND");
    let resolved: serde_json::Value = post(
        "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { id isResolved } } }",
        json!({"id": "PRRT_kwDOtest0001"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        resolved["data"]["resolveReviewThread"]["thread"]["isResolved"],
        true
    );
    // A field GitHub's schema does not have: errors and no data, as GitHub answers.
    let misspelled: serde_json::Value = post(
        "mutation($id: ID!) { resolveReviewThread(input: {threadId: $id}) { thread { id resolved } } }",
        json!({"id": "PRRT_kwDOtest0001"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(misspelled["data"].is_null(), "{misspelled}");
    assert!(
        misspelled["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("resolved")
    );
    assert_eq!(app.github.take_violations().len(), 1);
    app.stop().await;
}

#[test]
fn graphql_operations_are_checked_against_githubs_schema() {
    let ok =
        "query($id: ID!) { node(id: $id) { ... on PullRequestReviewThread { id isResolved } } }";
    assert_eq!(support::spec::check_graphql(ok), Vec::<String>::new());
    let misspelled =
        "query($id: ID!) { node(id: $id) { ... on PullRequestReviewThread { id isResolvedd } } }";
    let problems = support::spec::check_graphql(misspelled);
    assert!(
        problems.iter().any(|p| p.contains("isResolvedd")),
        "{problems:?}"
    );
    let wrong_type =
        "mutation($id: Int!) { resolveReviewThread(input: {threadId: $id}) { thread { id } } }";
    assert!(!support::spec::check_graphql(wrong_type).is_empty());
}

#[test]
fn the_descriptions_refuse_requests_that_break_them() {
    let review = "POST /repos/{owner}/{repo}/pulls/{pull_number}/reviews";
    let comment = json!({"path": "src/a.rs", "line": 3, "side": "RIGHT", "body": "x"});
    let good = json!({"commit_id": "a".repeat(40), "body": "b", "event": "COMMENT", "comments": [comment]});
    assert_eq!(
        spec::check_github_request(review, &good),
        Vec::<String>::new()
    );
    let mut wrong_event = good.clone();
    wrong_event["event"] = json!("MERGE");
    let mut wrong_line = good.clone();
    wrong_line["comments"][0]["line"] = json!("three");
    let mut no_path = good.clone();
    no_path["comments"][0]
        .as_object_mut()
        .unwrap()
        .remove("path");
    for bad in [wrong_event, wrong_line, no_path] {
        assert!(
            !spec::check_github_request(review, &bad).is_empty(),
            "{bad}"
        );
    }
    let check_run = "POST /repos/{owner}/{repo}/check-runs";
    let run = json!({"name": "Codex review", "head_sha": "a".repeat(40), "status": "done"});
    assert!(!spec::check_github_request(check_run, &run).is_empty());

    let request = json!({
        "model": "gpt-5.1-codex",
        "input": [{"type": "message", "role": "user", "content": "Review this."}],
        "text": {"format": {"type": "json_schema", "name": "answer", "strict": true,
            "schema": {"type": "object"}}},
        "reasoning": {"effort": "medium"},
    });
    assert_eq!(spec::check_openai_request(&request), Vec::<String>::new());
    let mut no_schema = request.clone();
    no_schema["text"]["format"]
        .as_object_mut()
        .unwrap()
        .remove("schema");
    let mut wrong_effort = request.clone();
    wrong_effort["reasoning"]["effort"] = json!("extreme");
    for bad in [no_schema, wrong_effort] {
        assert!(!spec::check_openai_request(&bad).is_empty(), "{bad}");
    }
}

#[test]
fn each_keyword_refuses_what_breaks_it() {
    let root = json!({
        "type": "object",
        "required": ["name", "kind"],
        "additionalProperties": false,
        "maxProperties": 4,
        "properties": {
            "name": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[a-z]+$"},
            "kind": {"$ref": "#/components/schemas/kind"},
            "n": {"type": ["integer", "null"], "minimum": 1, "maximum": 3},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1, "maxItems": 2},
        },
        "components": {"schemas": {"kind": {"oneOf": [{"const": "x"}, {"type": "string", "maxLength": 1}]}}}
    });
    let schema = support::schema::Schema { root: &root };
    assert!(
        schema
            .errors(
                &json!({"name": "abc", "kind": "y", "n": null, "tags": ["a"]}),
                9
            )
            .is_empty()
    );
    for bad in [
        json!({"name": "abc"}),
        json!({"name": "abc", "kind": "y", "other": 1}),
        json!({"name": "a", "kind": "y"}),
        json!({"name": "abcde", "kind": "y"}),
        json!({"name": "AB", "kind": "y"}),
        json!({"name": "abc", "kind": "x"}),
        json!({"name": "abc", "kind": "y", "n": 4}),
        json!({"name": "abc", "kind": "y", "n": 1.5}),
        json!({"name": "abc", "kind": "y", "tags": []}),
        json!({"name": "abc", "kind": "y", "tags": ["c"]}),
        json!([]),
    ] {
        assert!(!schema.errors(&bad, 9).is_empty(), "{bad} passed");
    }
}

#[test]
#[should_panic(expected = "is not checked")]
fn an_unknown_keyword_is_never_ignored() {
    let root = json!({"type": "string", "dependentRequired": {}});
    support::schema::Schema { root: &root }.errors(&json!("a"), 9);
}
