//! Every row of the placement table (SPEC.md), driven through the real
//! binary on real directories, with the no-replace rename and the fallback.

both_primitives!(
    absent_file_is_placed,
    absent_dir_is_placed_whole_by_one_rename,
    dir_into_existing_dir_merges_children,
    dir_through_symlinks_inside_target,
    absolute_symlink_in_target_is_not_followed,
    dotdot_symlink_out_of_target_is_not_followed,
    dir_over_file_is_a_type_conflict,
    file_over_dir_is_a_type_conflict,
    symlink_over_real_dir_is_a_type_conflict,
    identical_file_and_symlink_are_no_ops,
    different_file_is_replaced_atomically_with_warning,
    different_symlink_is_replaced,
    mode_difference_counts_as_different,
    on_conflict_keep_keeps_target_and_stage,
    on_conflict_fail_is_a_conflict,
    stage_inside_target_like_sage,
    destination_that_is_stage_itself_is_a_conflict,
    empty_staged_dirs_are_removed_and_leftovers_kept,
    reinstall_through_an_alias_replaces_every_file,
    back_to_back_reinstalls_replace_not_concurrent,
);
