//! The `users migrate` import (`Engine::import_users_yaml`, Argilla's `.users.yml`): any text
//! is imported whole or refused whole with a one-line message, never a panic. An import that
//! succeeds leaves exactly its users in the store, each findable by name; a refused one
//! leaves the store as it was (here: one pre-existing user, `taken`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use workgate_core::engine::tasks::{TaskError, UserSpec};
use workgate_core::{Engine, MemoryStore, Role};
use workgate_fuzz::common::cheap_config;
use workgate_fuzz::{FuzzPlatform, block_on};

fuzz_target!(|yaml: &str| {
    let engine = Engine::new(
        MemoryStore::stores(),
        FuzzPlatform::default(),
        cheap_config(),
    );
    let directory = &engine.stores().directory;
    block_on(engine.create_user_task(UserSpec {
        first_name: "Taken".into(),
        last_name: None,
        username: "taken".into(),
        role: Role::Annotator,
        password: "taken-password".into(),
        api_key: Some("taken.apikey".into()),
        workspaces: vec![],
    }))
    .expect("setup: create taken");
    let before = block_on(directory.users()).expect("users").len();
    match block_on(engine.import_users_yaml(yaml)) {
        Ok(imported) => {
            let users = block_on(directory.users()).expect("users");
            assert_eq!(users.len(), before + imported.len(), "{yaml:?}");
            for user in &imported {
                let found = block_on(directory.user_by_username(&user.username)).expect("lookup");
                assert_eq!(found.map(|u| u.id), Some(user.id), "{yaml:?}");
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(!message.contains('\n'), "two lines: {message:?}");
            assert!(!matches!(error, TaskError::Store(_)), "{message}");
            let users = block_on(directory.users()).expect("users");
            assert_eq!(users.len(), before, "a refused import wrote: {yaml:?}");
        }
    }
});
