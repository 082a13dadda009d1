//! Findings across pushes: fixed findings are resolved, deleted ones resolved as outdated,
//! dismissed ones (a reply, a 👎) never posted again, a thread a person resolved left alone, and
//! an automatic re-review with nothing new stays quiet.

use crate::support;
use serde_json::{Value, json};
use support::*;

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// Ten added lines: every one can carry a comment.
const PATCH_A: &str = "@@ -0,0 +1,10 @@\n+l1\n+l2\n+l3\n+l4\n+l5\n+l6\n+l7\n+l8\n+l9\n+l10";

fn titled(title: &str, line: u64) -> Value {
    let mut f = finding("src/limiter.rs", "RIGHT", line, line, 1, None);
    f["title"] = json!(title);
    f
}

/// The `[ID]` the app gave the earlier finding titled `title` in a request's user message.
fn shown_id(request: &Value, title: &str) -> Option<String> {
    let message = request["input"][0]["content"].as_str()?;
    message.lines().find_map(|l| {
        let rest = l.strip_prefix('[')?;
        let (id, tail) = rest.split_once("] ")?;
        tail.starts_with(title).then(|| id.to_owned())
    })
}

both_backends!(a_push_resolves_fixed_and_deleted_findings_and_dismissed_ones_stay_dismissed);

async fn a_push_resolves_fixed_and_deleted_findings_and_dismissed_ones_stay_dismissed(
    backend: Backend,
) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let app = TestApp::start_with(Options {
        database_url: Some(db.url.clone()),
        ..Options::default()
    })
    .await;
    let mut pull = Pull::new(
        REPO,
        21,
        A,
        vec![File::new("src/limiter.rs", "added", Some(PATCH_A))],
    );
    pull.contents.insert(
        "src/limiter.rs".into(),
        (1..=10).map(|i| format!("l{i}\n")).collect(),
    );
    app.github.add_pull(pull);
    app.openai.push(Reply::Review(review_with(vec![
        titled("Off by one in the bound", 2),
        titled("Lock held across await", 5),
        titled("Limit read from the request", 7),
        titled("Counter never reset", 8),
        titled("Error swallowed", 9),
    ])));
    app.comment(21, "@codex review").await;
    assert_eq!(app.github.reviews()[0].comments.len(), 5);

    // People answer: a "won't fix" with a reason, a 👎, a thread resolved by hand, and a
    // "won't fix" and a 👎 from someone who may not decide (a 👎 carries no association: the
    // person's permission on the repository tells).
    {
        let mut st = app.github.state();
        st.permissions.insert("maintainer".into(), "write".into());
        st.permissions.insert("drive-by".into(), "read".into());
        let thread_of = |st: &support::fake_github::GhState, title: &str| {
            st.threads
                .iter()
                .position(|t| t.comments[0].body.contains(title))
                .unwrap()
        };
        let i = thread_of(&st, "Limit read from the request");
        st.threads[i]
            .comments
            .push(support::fake_github::ThreadComment {
                id: 90_001,
                body: "Won't fix: the proxy enforces the limit.".into(),
                author: "maintainer".into(),
                association: "MEMBER".into(),
                review_id: Some(90_000),
            });
        let i = thread_of(&st, "Counter never reset");
        let down = st.threads[i].comments[0].id;
        st.review_reactions
            .push((down, "-1".into(), "maintainer".into()));
        let i = thread_of(&st, "Error swallowed");
        st.threads[i].resolved = true;
        let down = st.threads[i].comments[0].id;
        st.review_reactions
            .push((down, "-1".into(), "drive-by".into()));
        let i = thread_of(&st, "Off by one in the bound");
        st.threads[i]
            .comments
            .push(support::fake_github::ThreadComment {
                id: 90_002,
                body: "false positive".into(),
                author: "drive-by".into(),
                association: "NONE".into(),
                review_id: Some(90_000),
            });
    }

    // A push edits line 2 (the bound) and deletes line 5.
    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 21).unwrap();
        pull.head_sha = B.into();
        pull.commits.push(B.into());
        let now: String = [1, 2, 3, 4, 6, 7, 8, 9, 10]
            .iter()
            .map(|i| {
                if *i == 2 {
                    "l2 fixed\n".to_owned()
                } else {
                    format!("l{i}\n")
                }
            })
            .collect();
        pull.contents.insert("src/limiter.rs".into(), now);
        pull.files = vec![File::new(
            "src/limiter.rs",
            "added",
            Some("@@ -0,0 +1,9 @@\n+l1\n+l2 fixed\n+l3\n+l4\n+l6\n+l7\n+l8\n+l9\n+l10"),
        )];
        pull.compares.insert(
            format!("{A}...{B}"),
            (
                "ahead".into(),
                vec![File::new(
                    "src/limiter.rs",
                    "modified",
                    Some("@@ -1,6 +1,5 @@\n l1\n-l2\n+l2 fixed\n l3\n l4\n-l5\n l6"),
                )],
            ),
        );
    }
    // The model judges the bound fixed when it is shown, and finds the dismissed ones again.
    app.openai.respond_with(|request| {
        let fixed: Vec<String> = shown_id(request, "Off by one in the bound")
            .into_iter()
            .collect();
        let mut review = review_with(vec![
            titled("Limit read from the request", 6),
            titled("Counter never reset", 7),
            titled("A new problem", 1),
        ]);
        review["fixed_finding_ids"] = json!(fixed);
        Reply::Review(review)
    });
    app.comment(21, "@codex review").await;

    let requests = app.openai.requests();
    let second = requests.last().unwrap();
    let message = second["input"][0]["content"].as_str().unwrap();
    // Shown: the edited finding with its code now; not the deleted, dismissed or resolved ones.
    let id = shown_id(second, "Off by one in the bound").expect("the bound is shown");
    assert!(
        message.contains(&format!(
            "[{id}] Off by one in the bound (src/limiter.rs:2)\n2: l2 fixed\n"
        )),
        "{message}"
    );
    for absent in ["Lock held across await", "Error swallowed"] {
        assert!(shown_id(second, absent).is_none(), "{absent} shown");
    }
    assert!(message.contains("fixed_finding_ids"));
    // The reason given in the thread reaches the model as a maintainer's note, fenced, in
    // the maintainer's words only: the model-written title of the finding is not among them.
    let notes = message.find("BEGIN MAINTAINER NOTES").expect("notes");
    let notes_end = message.find("END MAINTAINER NOTES").expect("notes end");
    let noted = &message[notes..notes_end];
    assert!(
        noted.contains("- the proxy enforces the limit. (by maintainer)\n"),
        "{message}"
    );
    assert!(!noted.contains("Limit read from the request"), "{noted}");

    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 2);
    let review = &reviews[1];
    let posted: Vec<&str> = review
        .comments
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].contains("A new problem"));
    let body = &review.body;
    assert!(
        body.contains("**Fixed since the last review** (threads resolved)"),
        "{body}"
    );
    assert!(
        body.contains("- ~~Off by one in the bound~~ — `src/limiter.rs:2`"),
        "{body}"
    );
    assert!(
        body.contains("**No longer in the code (lines deleted)** (threads resolved)"),
        "{body}"
    );
    assert!(
        body.contains("- ~~Lock held across await~~ — `src/limiter.rs:5`"),
        "{body}"
    );
    assert!(
        body.contains("2 findings dismissed earlier on this pull request were not repeated."),
        "{body}"
    );
    assert!(
        body.contains("1 open finding has a 👎 only from people who may not run commands here"),
        "{body}"
    );

    // Resolved by the app: the fixed and the deleted one; the hand-resolved one untouched.
    let resolved: Vec<String> = {
        let st = app.github.state();
        st.resolved_by_app
            .iter()
            .map(|id| {
                st.threads.iter().find(|t| t.id == *id).unwrap().comments[0]
                    .body
                    .clone()
            })
            .collect()
    };
    assert_eq!(resolved.len(), 2, "{resolved:?}");
    assert!(
        resolved
            .iter()
            .any(|b| b.contains("Off by one in the bound"))
    );
    assert!(
        resolved
            .iter()
            .any(|b| b.contains("Lock held across await"))
    );

    // The learnings can be listed and forgotten.
    app.comment(21, "@codex learnings").await;
    let listed = app.github.comments().last().unwrap().body.clone();
    assert!(
        listed.contains("the proxy enforces the limit. (by maintainer)"),
        "{listed}"
    );
    let number: String = listed
        .lines()
        .find(|l| l.contains("the proxy enforces the limit"))
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    app.comment(21, &format!("@codex forget {number}")).await;
    assert!(
        app.github
            .comments()
            .last()
            .unwrap()
            .body
            .contains("is forgotten")
    );
    app.comment(21, "@codex learnings").await;
    let again = app.github.comments().last().unwrap().body.clone();
    assert!(again.contains("No learnings yet"), "{again}");

    // A third review: nothing is shown again that was settled, and the dismissed stay out.
    app.openai.respond_with(|_| {
        Reply::Review(review_with(vec![titled("Limit read from the request", 6)]))
    });
    app.comment(21, "@codex review full").await;
    let last = app.openai.requests().last().unwrap().clone();
    assert!(shown_id(&last, "Off by one in the bound").is_none());
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 3);
    assert!(reviews[2].comments.is_empty());
    app.stop().await;
    db.drop_db().await;
}

#[tokio::test]
async fn an_automatic_re_review_with_nothing_new_posts_no_review() {
    let app = TestApp::start().await;
    let mut pull = Pull::new(
        REPO,
        22,
        A,
        vec![File::new("src/limiter.rs", "added", Some(PATCH_A))],
    );
    pull.base_contents.insert(
        ".github/codex-review.yml".into(),
        "auto_review:\n  on: [opened, synchronize]\n".into(),
    );
    app.github.add_pull(pull);
    app.openai.push(Reply::Review(review_with(vec![titled(
        "Off by one in the bound",
        2,
    )])));
    let (status, _) = app
        .deliver(
            "pull_request",
            &pull_request_payload("opened", 22, A, false),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1);

    {
        let mut st = app.github.state();
        let pull = st.pulls.iter_mut().find(|p| p.number == 22).unwrap();
        pull.head_sha = B.into();
        pull.commits.push(B.into());
    }
    // Nothing new: the same finding again (already posted) and nothing fixed.
    app.openai.push(Reply::Review(review_with(vec![titled(
        "Off by one in the bound",
        2,
    )])));
    let (status, _) = app
        .deliver(
            "pull_request",
            &pull_request_payload("synchronize", 22, B, false),
        )
        .await;
    assert_eq!(status, 202);
    app.settle().await;
    assert_eq!(app.github.reviews().len(), 1, "no second review");
    let runs = app.github.state().check_runs.clone();
    let run = runs
        .iter()
        .find(|r| r.head_sha == B)
        .expect("a check run for the new head");
    assert_eq!(run.status, "completed");
    assert_eq!(run.title.as_deref(), Some("No new issues"));

    // Asked explicitly, it answers even with nothing new.
    app.openai.push(Reply::Review(review_with(vec![titled(
        "Off by one in the bound",
        2,
    )])));
    app.comment(22, "@codex review").await;
    let reviews = app.github.reviews();
    assert_eq!(reviews.len(), 2);
    assert!(
        reviews[1].body.contains("no issues found"),
        "{}",
        reviews[1].body
    );
    assert!(reviews[1].body.contains(&B[..7]));
    app.stop().await;
}

#[tokio::test]
async fn the_thumbs_down_of_many_open_findings_are_read_a_few_at_a_time() {
    let app = TestApp::start().await;
    let mut pull = Pull::new(
        REPO,
        22,
        A,
        vec![File::new("src/limiter.rs", "added", Some(PATCH_A))],
    );
    pull.contents.insert(
        "src/limiter.rs".into(),
        (1..=10).map(|i| format!("l{i}\n")).collect(),
    );
    app.github.add_pull(pull);
    let findings: Vec<Value> = (1..=10)
        .map(|l| titled(&format!("Problem {l}"), l))
        .collect();
    app.openai.push(Reply::Review(review_with(findings)));
    app.comment(22, "@codex review").await;
    assert_eq!(app.github.reviews()[0].comments.len(), 10);
    // GitHub answers slowly: reads asked one after another would never overlap.
    app.github.state().delay = std::time::Duration::from_millis(40);
    app.openai.push(Reply::Review(review_with(vec![])));
    app.comment(22, "@codex review").await;
    let most = app.github.state().max_reaction_reads;
    assert!((2..=6).contains(&most), "{most} reaction reads at once");
    app.assert_no_violations();
    app.stop().await;
}
