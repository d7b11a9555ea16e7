//! The procedural macro behind [`anyrt-test`](https://docs.rs/anyrt-test):
//! `#[anyrt_test::test]` turns one `async fn` into one `#[test]` per
//! runtime. Use it through `anyrt-test`, which documents it.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Attribute, Error, ItemFn, LitInt, Meta, Token};

/// The runtimes, by the name of the test function each one gets.
const RUNTIMES: [&str; 5] = [
    "smol",
    "tokio_current_thread",
    "tokio_multi_thread",
    "async_std",
    "block_on",
];

/// Expands an `async fn` into a module of one `#[test]` per runtime.
///
/// Options: `runtimes(smol, tokio_multi_thread, ..)`, `virtual_time`,
/// `timeout = SECONDS`. See the `anyrt-test` crate for the full guide.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let expanded = Options::parse(args.into()).and_then(|options| {
        let function = syn::parse::<ItemFn>(item)?;
        expand(options, function)
    });
    expanded.unwrap_or_else(Error::into_compile_error).into()
}

struct Options {
    runtimes: Vec<String>,
    virtual_time: bool,
    timeout_secs: u64,
}

impl Options {
    fn parse(args: TokenStream2) -> syn::Result<Options> {
        let mut options = Options {
            runtimes: RUNTIMES.iter().map(|name| name.to_string()).collect(),
            virtual_time: false,
            timeout_secs: 60,
        };
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;
        let mut seen: Vec<String> = Vec::new();
        for meta in metas {
            // A second `runtimes(..)` or `timeout` would silently replace
            // the first: refuse it, as any option not taken as written.
            if let Some(name) = meta.path().get_ident().map(ToString::to_string) {
                if seen.contains(&name) {
                    return Err(Error::new_spanned(
                        &meta,
                        format!("`{name}` is given more than once"),
                    ));
                }
                seen.push(name);
            }
            match &meta {
                Meta::Path(path) if path.is_ident("virtual_time") => options.virtual_time = true,
                Meta::List(list) if list.path.is_ident("runtimes") => {
                    options.runtimes = parse_runtimes(list.tokens.clone())?;
                }
                Meta::NameValue(nv) if nv.path.is_ident("timeout") => {
                    let value: LitInt = match &nv.value {
                        syn::Expr::Lit(syn::ExprLit {
                            lit: syn::Lit::Int(value),
                            ..
                        }) => value.clone(),
                        other => {
                            return Err(Error::new_spanned(
                                other,
                                "timeout takes whole seconds: `timeout = 30`",
                            ));
                        }
                    };
                    options.timeout_secs = value.base10_parse()?;
                    if options.timeout_secs == 0 {
                        return Err(Error::new_spanned(nv, "timeout must be at least 1 second"));
                    }
                }
                other => {
                    return Err(Error::new_spanned(
                        other,
                        "expected `runtimes(..)`, `virtual_time` or `timeout = SECONDS`",
                    ));
                }
            }
        }
        Ok(options)
    }
}

fn parse_runtimes(tokens: TokenStream2) -> syn::Result<Vec<String>> {
    let names = Punctuated::<syn::Ident, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut runtimes = Vec::new();
    for name in names {
        let text = name.to_string();
        if !RUNTIMES.contains(&text.as_str()) {
            let known = RUNTIMES.join(", ");
            return Err(Error::new_spanned(
                name,
                format!("unknown runtime; expected one of {known}"),
            ));
        }
        if !runtimes.contains(&text) {
            runtimes.push(text);
        }
    }
    if runtimes.is_empty() {
        return Err(Error::new(
            Span::call_site(),
            "runtimes(..) needs at least one runtime",
        ));
    }
    Ok(runtimes)
}

/// Attributes copied onto every generated `#[test]`: they change how the
/// test harness treats the test, not the body.
fn is_test_attribute(attr: &Attribute) -> bool {
    ["should_panic", "ignore"]
        .iter()
        .any(|name| attr.path().is_ident(name))
}

fn expand(options: Options, function: ItemFn) -> syn::Result<TokenStream2> {
    if function.sig.asyncness.is_none() {
        return Err(Error::new_spanned(
            function.sig.fn_token,
            "#[anyrt_test::test] needs an `async fn`",
        ));
    }
    let takes_clock = match function.sig.inputs.len() {
        0 => false,
        1 if options.virtual_time => true,
        1 => {
            return Err(Error::new_spanned(
                &function.sig.inputs,
                "a test takes a `VirtualClock` argument only with `virtual_time`",
            ));
        }
        _ => {
            return Err(Error::new_spanned(
                &function.sig.inputs,
                "a test takes at most one argument (the clock)",
            ));
        }
    };
    let name = &function.sig.ident;
    let output = &function.sig.output;
    let (test_attrs, other_attrs): (Vec<_>, Vec<_>) =
        function.attrs.iter().cloned().partition(is_test_attribute);
    let mut body_fn = function.clone();
    body_fn.attrs = other_attrs;
    let call = if takes_clock {
        quote!(|clock| super::#name(clock.expect("virtual_time passes a clock")))
    } else {
        quote!(|_clock| super::#name())
    };
    let virtual_time = options.virtual_time;
    let timeout = options.timeout_secs;
    let should_panic = test_attrs
        .iter()
        .any(|attr| attr.path().is_ident("should_panic"));
    let tests = options.runtimes.iter().map(|runtime| {
        let test_name = format_ident!("{}", runtime);
        let variant = format_ident!("{}", variant_name(runtime));
        let gate = match runtime.as_str() {
            "smol" => Some(format_ident!("__anyrt_test_if_smol")),
            "tokio_current_thread" | "tokio_multi_thread" => {
                Some(format_ident!("__anyrt_test_if_tokio"))
            }
            "async_std" => Some(format_ident!("__anyrt_test_if_async_std")),
            _ => None,
        };
        let test = quote! {
            #[test]
            #(#test_attrs)*
            pub(super) fn #test_name() #output {
                ::anyrt_test::__private::run(
                    ::anyrt_test::TestRuntime::#variant,
                    ::anyrt_test::__private::Options {
                        name: ::core::module_path!(),
                        virtual_time: #virtual_time,
                        timeout: ::core::time::Duration::from_secs(#timeout),
                        should_panic: #should_panic,
                    },
                    #call,
                )
            }
        };
        match gate {
            Some(gate) => quote!(::anyrt_test::#gate! { #test }),
            None => test,
        }
    });
    Ok(quote! {
        #[allow(dead_code)]
        #body_fn

        #[allow(non_snake_case)]
        mod #name {
            #[allow(unused_imports)]
            use super::*;
            #(#tests)*
        }
    })
}

fn variant_name(runtime: &str) -> String {
    runtime
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::Options;

    /// Regression: a repeated option silently replaced the first one, so
    /// `runtimes(smol), runtimes(block_on)` ran on `block_on` alone and the
    /// first `timeout` was dropped without a word.
    #[test]
    fn regression_a_repeated_option_is_an_error() {
        for args in [
            quote!(runtimes(smol), runtimes(block_on)),
            quote!(timeout = 5, timeout = 6),
            quote!(virtual_time, virtual_time),
        ] {
            let error = Options::parse(args.clone())
                .err()
                .unwrap_or_else(|| panic!("`{args}` was accepted"));
            assert!(
                error.to_string().contains("more than once"),
                "`{args}`: {error}"
            );
        }
        assert!(Options::parse(quote!(runtimes(smol), virtual_time, timeout = 5)).is_ok());
    }
}
