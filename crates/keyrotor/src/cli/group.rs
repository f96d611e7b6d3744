//! `keyrotor group`: resource groups.

use anyhow::Result;
use reqwest::Method;
use serde_json::json;

use super::api_versions::API_RG;
use super::args::{confirm, parse_tags};
use super::output::emit;
use super::Session;

#[derive(Debug, clap::Subcommand)]
pub enum GroupCmd {
    /// Create (or update) a resource group.
    Create {
        #[arg(short = 'n', long)]
        name: String,
        #[arg(short = 'l', long)]
        location: String,
        /// Space-separated tags: key[=value].
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
    },
    /// List resource groups.
    List,
    /// Show one resource group.
    Show {
        #[arg(short = 'n', long)]
        name: String,
    },
    /// Delete a resource group and every account in it.
    Delete {
        #[arg(short = 'n', long)]
        name: String,
        /// Do not prompt for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

const GROUP_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("Location", "/location"),
    ("Status", "/properties/provisioningState"),
];

pub(super) async fn run(c: &Session, cmd: GroupCmd) -> Result<()> {
    match cmd {
        GroupCmd::Create {
            name,
            location,
            tags,
        } => {
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &c.group_path(&name),
                    API_RG,
                    Some(json!({"location": location, "tags": parse_tags(&tags)})),
                )
                .await?;
            emit(c.output, &v, GROUP_COLUMNS)
        }
        GroupCmd::List => {
            let v = c
                .arm
                .ok(
                    Method::GET,
                    &format!("/subscriptions/{}/resourcegroups", c.subscription),
                    API_RG,
                    None,
                )
                .await?;
            emit(c.output, &v["value"], GROUP_COLUMNS)
        }
        GroupCmd::Show { name } => {
            let v = c
                .arm
                .ok(Method::GET, &c.group_path(&name), API_RG, None)
                .await?;
            emit(c.output, &v, GROUP_COLUMNS)
        }
        GroupCmd::Delete { name, yes } => {
            confirm(
                &format!("delete resource group '{name}' and every account in it"),
                yes,
            )?;
            c.arm
                .ok(Method::DELETE, &c.group_path(&name), API_RG, None)
                .await?;
            Ok(())
        }
    }
}
